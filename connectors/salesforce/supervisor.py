"""Each tenant's stream under supervision: an exception the stream does not handle (a bug, a
dependency answering in a shape nobody expected) restarts it from its saved checkpoints after a
capped, jittered exponential backoff, instead of leaving the tenant's org unsynced until someone
applies its config again.

What the stream decides itself is respected: a config error or a fatal decision ends its `run`
normally, with a log line saying what to fix, and is not restarted. Cancellation (the tenant's
config changed or was removed, the replica is stopping) passes straight through.
https://aws.amazon.com/builders-library/timeouts-retries-and-backoff-with-jitter/
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from connectors.backoff import backoff
from connectors.salesforce.tenant_stream import TenantStream
from connectors.telemetry.metrics import SUBSCRIPTION_UP, TENANT_RESTARTS


@dataclass(frozen=True)
class RestartPolicy:
    base_delay: float = 1.0  # the first restart's delay before jitter
    max_delay: float = 300.0  # a stream failing over and over retries every five minutes
    healthy_after: float = 600.0  # a stream that ran this long counts as recovered: back to base

    def delay(self, attempt: int, jitter: float) -> float:
        """`base * 2**attempt` (from 0), capped, scaled by 0.5..1.0 with `jitter` in [0, 1), so
        tenants that failed together (one bad deploy, one broker blip) do not restart in step."""
        return backoff(attempt + 1, self.base_delay, self.max_delay, jitter)


def next_attempt(attempt: int, ran_for: float, policy: RestartPolicy) -> int:
    """The failures in a row, counting this one from 0; a stream that ran `healthy_after`
    seconds before failing starts over at the base delay."""
    return 0 if ran_for >= policy.healthy_after else attempt


@dataclass
class Supervisor:
    first: TenantStream
    # The stream that replaces a failed one: new clients (any of them may be what broke), the
    # same checkpoints.
    renew: Callable[[TenantStream], TenantStream]
    policy: RestartPolicy
    sleep: Callable[[float], Awaitable[None]]
    random: Callable[[], float]  # jitter in [0, 1)
    now: Callable[[], float]  # monotonic seconds
    restarts: int = 0

    async def run(self) -> None:
        tenant = self.first.config.tenant
        log = structlog.get_logger(__name__).bind(tenant=tenant)
        stream, attempt = self.first, -1
        while True:
            started = self.now()
            try:
                await stream.run()
                return  # the stream stopped itself on a decision, and logged why
            except Exception as e:
                _unless_cancelled(e)
                attempt = next_attempt(attempt + 1, self.now() - started, self.policy)
                delay = self.policy.delay(attempt, self.random())
                SUBSCRIPTION_UP.labels(tenant).set(0)
                TENANT_RESTARTS.labels(tenant).inc()
                self.restarts += 1
                log.error(
                    "tenant stream failed; restarting it from its checkpoints",
                    error=f"{type(e).__name__}: {e}"[:300],
                    restart=self.restarts,
                    delay=round(delay, 2),
                    raised_at=_raised_at(e),
                )
            await self.sleep(delay)
            stream = self.renew(stream)


def _unless_cancelled(error: Exception) -> None:
    """The supervisor was cancelled (the tenant is being stopped: a rebalance, a new config) and
    the stream turned the cancellation into another error on the way out: aiohttp's timeout
    context raises TimeoutError when a request is cancelled after its timer fired. Restarting
    would swallow the stop: the listener's revoke then waited 120 s for a tenant that never
    stopped and the whole group with it (seen in the chaos suite, seed 2024)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError from error


def _raised_at(error: BaseException) -> str:
    """Where the error was raised (`file:line in function`), for the log line."""
    frames = traceback.extract_tb(error.__traceback__)
    return f"{frames[-1].filename}:{frames[-1].lineno} in {frames[-1].name}" if frames else ""
