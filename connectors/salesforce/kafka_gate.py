"""Whether one tenant's stream may take the next Salesforce event: only while Kafka keeps
acknowledging its changes.

A change is only safe once the broker acknowledged it; the replay checkpoint moves over nothing
else (checkpoints.py). When the broker is down, restarting or refuses a change, taking more
events would only grow a local queue that is lost on a restart, so the stream stops: the gate
raises `KafkaUnacknowledged`, the stream closes its CometD session, and `wait` holds the tenant
until Kafka acknowledges again. The stream then subscribes again from its checkpoints, so every
change that was in flight, failed or not, is received and sent again (a bounded duplicate the
downstream merge absorbs) and nothing is skipped.

The bounds: at most `max_in_flight` unacknowledged events per channel (more waits for the oldest
to settle), and no change unacknowledged for longer than `ack_timeout` seconds.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from connectors.backoff import backoff
from connectors.kafka.failures import classify
from connectors.kafka.producer import DeliveryFailed
from connectors.salesforce.checkpoints import ChannelCheckpointer
from connectors.salesforce.errors import SalesforceConnectorError
from connectors.telemetry.metrics import KAFKA_UNACKNOWLEDGED, RETRIES


class KafkaUnacknowledged(SalesforceConnectorError):
    """Kafka is not acknowledging the tenant's changes, for now: stop taking events and wait for
    it. `reason` names the cause for the retries metric (a librdkafka error name, or
    `unacknowledged` when acknowledgements are only late)."""

    def __init__(self, message: str, reason: str = "unacknowledged") -> None:
        super().__init__(message)
        self.reason = reason


class KafkaRefused(SalesforceConnectorError):
    """Kafka refused a change for a reason waiting cannot fix (too large, not authorised, the
    producer fenced): the stream fails and its supervisor restarts it from its checkpoints with
    a growing backoff, each time logged with this error."""


def refusal(error: BaseException) -> KafkaUnacknowledged | KafkaRefused:
    """A failed delivery, classified by `connectors.kafka.failures`."""
    verdict = classify(error.error if isinstance(error, DeliveryFailed) else error)
    if verdict.transient:
        return KafkaUnacknowledged(f"Kafka did not take a change: {error}", verdict.reason)
    return KafkaRefused(f"Kafka refused a change ({verdict.failure.value}): {error}")


def stall(
    checkpointer: ChannelCheckpointer, ack_timeout: float
) -> KafkaUnacknowledged | KafkaRefused | None:
    """Why this channel must stop taking events, if it must: a send failed, or the oldest
    unacknowledged one has waited longer than `ack_timeout`."""
    if (error := checkpointer.failed()) is not None:
        return refusal(error)
    waited = checkpointer.waiting_for()
    if waited > ack_timeout:
        return KafkaUnacknowledged(
            f"no acknowledgement from Kafka for {waited:.1f} s "
            f"({checkpointer.in_flight} changes in flight)"
        )
    return None


@dataclass
class KafkaGate:
    tenant: str
    log: Any  # the stream's structlog logger, the tenant bound
    now: Callable[[], float]  # monotonic seconds
    sleep: Callable[[float], Awaitable[None]]
    max_in_flight: int = 5_000
    ack_timeout: float = 30.0
    retry_base: float = 1.0
    retry_cap: float = 60.0
    random: Callable[[], float] = field(default_factory=lambda: random.Random().random)
    waiting: bool = False

    async def keep_up(self, checkpointer: ChannelCheckpointer) -> None:
        """After an event was sent: return when the next may be taken, or raise when Kafka has
        stopped acknowledging. Over `max_in_flight`, waits for the oldest to settle."""
        while True:
            checkpointer.advance()
            if (stopped := stall(checkpointer, self.ack_timeout)) is not None:
                raise stopped
            unsettled = checkpointer.unsettled()
            if checkpointer.in_flight <= self.max_in_flight or not unsettled:
                return
            left = self.ack_timeout - checkpointer.waiting_for()
            await asyncio.wait(unsettled[:1], timeout=min(max(0.0, left), 1.0))

    def check(self, checkpointers: Iterable[ChannelCheckpointer]) -> None:
        """While no event arrives (the stream's ticker): the same checks, so a quiet tenant
        also stops and says so."""
        for checkpointer in checkpointers:
            checkpointer.advance()
            if (stopped := stall(checkpointer, self.ack_timeout)) is not None:
                raise stopped

    async def wait(
        self,
        stopped: KafkaUnacknowledged,
        checkpointers: list[ChannelCheckpointer],
        probe: Callable[[], asyncio.Future[Any] | None],
    ) -> None:
        """Hold the tenant until Kafka acknowledges again: every send in flight settled, and if
        one failed, a probe (the tenant's current checkpoint written again) acknowledged. Then
        everything not acknowledged is forgotten, to be received again from the checkpoint."""
        since, attempt = self.now(), 0
        self._stopped(stopped, checkpointers)
        while not await self._acknowledges(checkpointers, probe):
            attempt += 1
            delay = backoff(attempt, self.retry_base, self.retry_cap, self.random())
            self.log.warning("Kafka still not acknowledging", attempt=attempt, retry_in=delay)
            await self.sleep(delay)
        resent = sum(c.forget_unacknowledged() for c in checkpointers)
        self.waiting = False
        KAFKA_UNACKNOWLEDGED.labels(self.tenant).set(0)
        self.log.info(
            "Kafka acknowledging again: resuming from the checkpoints",
            waited_s=round(self.now() - since, 1),
            received_again=resent,
        )

    def _stopped(
        self, stopped: KafkaUnacknowledged, checkpointers: list[ChannelCheckpointer]
    ) -> None:
        self.waiting = True
        KAFKA_UNACKNOWLEDGED.labels(self.tenant).set(1)
        RETRIES.labels("listener", stopped.reason).inc()
        self.log.warning(
            "waiting for Kafka: taking no Salesforce events until it acknowledges",
            reason=stopped.reason,
            error=str(stopped)[:300],
            in_flight=sum(c.in_flight for c in checkpointers),
        )

    async def _acknowledges(
        self,
        checkpointers: list[ChannelCheckpointer],
        probe: Callable[[], asyncio.Future[Any] | None],
    ) -> bool:
        unsettled = [f for c in checkpointers for f in c.unsettled()]
        if unsettled:
            # Each settles: acknowledged once the broker is back, or failed at the producer's
            # delivery timeout (KAFKA_DELIVERY_TIMEOUT_MS).
            await asyncio.wait(unsettled)
        for checkpointer in checkpointers:
            checkpointer.advance()
        if all(c.failed() is None for c in checkpointers):
            return True
        sent = probe()
        if sent is None:
            return True  # nothing saved to write again: the next session finds out
        try:
            await sent
        except DeliveryFailed as e:
            self.log.warning("Kafka refused the probe", error=str(e)[:300])
            return False
        return True
