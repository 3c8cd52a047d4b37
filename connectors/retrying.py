"""Waiting out a dependency that is down: the broker or the database at start-up, a read that a
restart cut short. Retries a call for as long as its failure is transient, with capped
exponential backoff and jitter (`connectors.backoff`), one log line per retry, one when it is
reachable again, and the wait counted in `gather_sync_retries_total{stage, reason}` and shown in
`gather_sync_waiting{stage, dependency}` while it lasts.

The classifier decides what is transient (`connectors.kafka.failures.classify`,
`connectors.gather.failures.classify`); anything else is raised at once, as it was.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import structlog

from connectors.backoff import backoff
from connectors.telemetry.metrics import RETRIES, WAITING

log = structlog.get_logger(__name__)
T = TypeVar("T")


class Verdict(Protocol):
    @property
    def transient(self) -> bool: ...

    @property
    def reason(self) -> str: ...


@dataclass(frozen=True)
class Patience:
    """Who waits for what, and how: `stage` and `dependency` label the log lines and metrics."""

    stage: str
    dependency: str  # "kafka", "database"
    classify: Callable[[BaseException], Verdict]
    base: float = 0.5
    cap: float = 30.0
    jitter: Callable[[], float] = field(default_factory=lambda: random.Random().random)
    fields: dict[str, object] = field(default_factory=dict)  # bound on every line: tenant=...

    def delay(self, attempt: int) -> float:
        return backoff(attempt, self.base, self.cap, self.jitter())

    def retrying(self, what: str, error: BaseException, attempt: int, delay: float) -> None:
        """Log and count one retry; raise `error` again when it is not transient."""
        verdict = self.classify(error)
        if not verdict.transient:
            raise error
        WAITING.labels(self.stage, self.dependency).set(1)
        RETRIES.labels(self.stage, verdict.reason).inc()
        log.warning(
            f"waiting for {self.dependency}",
            stage=self.stage,
            what=what,
            reason=verdict.reason,
            error=str(error)[:300],
            attempt=attempt,
            retry_in=round(delay, 3),
            **self.fields,
        )

    def recovered(self, what: str, attempts: int, since: float, now: float) -> None:
        WAITING.labels(self.stage, self.dependency).set(0)
        if attempts > 1:
            log.info(
                f"{self.dependency} reachable again",
                stage=self.stage,
                what=what,
                attempts=attempts,
                waited_s=round(now - since, 1),
                **self.fields,
            )


def patiently(
    call: Callable[[], T],
    what: str,
    patience: Patience,
    sleep: Callable[[float], object] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """`call()`, retried for as long as it fails transiently."""
    since = clock()
    for attempt in itertools.count(1):
        try:
            result = call()
        except Exception as e:
            delay = patience.delay(attempt)
            patience.retrying(what, e, attempt, delay)
            sleep(delay)
            continue
        patience.recovered(what, attempt, since, clock())
        return result
    raise AssertionError("unreachable: itertools.count never ends")


async def apatiently(
    call: Callable[[], Awaitable[T]],
    what: str,
    patience: Patience,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """`await call()`, retried for as long as it fails transiently."""
    since = clock()
    for attempt in itertools.count(1):
        try:
            result = await call()
        except Exception as e:
            delay = patience.delay(attempt)
            patience.retrying(what, e, attempt, delay)
            await sleep(delay)
            continue
        patience.recovered(what, attempt, since, clock())
        return result
    raise AssertionError("unreachable: itertools.count never ends")
