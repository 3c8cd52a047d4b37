"""Small synchronous Kafka helpers for one-shot commands (apply a config, backfill, reprocess)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import structlog
from confluent_kafka import KafkaError, Message, Producer

from connectors.kafka.failures import classify
from connectors.telemetry.metrics import RETRIES
from connectors.telemetry.throttle import Throttle

log = structlog.get_logger(__name__)

WAIT_LOG_EVERY = 10.0  # seconds between "waiting for Kafka" lines while the broker is away


class SyncPublisher:
    """Produce and count the broker's acknowledgements; `close` waits for the last of them.

    A broker that is down or restarting holds the command, it does not end it: a full local
    queue blocks `send` (so a backfill stops reading Salesforce where it is, and goes on from
    there), and a send that failed transiently (its delivery timed out) is sent again. Only a
    message the broker refuses on its own merit is counted in `failed`.
    """

    def __init__(
        self,
        config: dict[str, Any],
        clock: Callable[[], float] = time.monotonic,
        **fields: object,
    ) -> None:
        self._producer = Producer(config)
        self._clock = clock
        self._fields = fields  # bound on every log line, e.g. tenant=...
        self._again: list[tuple[str, bytes | None, bytes | None]] = []
        self._throttle = Throttle(WAIT_LOG_EVERY, clock)
        self.acknowledged = 0
        self.resent = 0
        self.failed: list[str] = []

    def send(self, topic: str, key: str, value: bytes | None) -> None:
        self._produce(topic, key.encode(), value)
        self._producer.poll(0)
        self._send_again()

    def _produce(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        while True:
            try:
                self._producer.produce(topic, key=key, value=value, on_delivery=self._done)
                return
            except BufferError:
                # The local queue is full: the broker is slow or away. Wait for it to drain.
                self._waiting("local queue full", len(self._producer))
                self._producer.poll(0.1)

    def _done(self, err: KafkaError | None, msg: Message) -> None:
        if err is None:
            self.acknowledged += 1
            return
        verdict = classify(err)
        if verdict.transient:
            RETRIES.labels("cli", verdict.reason).inc()
            self._again.append((msg.topic() or "", msg.key(), msg.value()))
        else:
            self.failed.append(str(err))

    def _send_again(self) -> None:
        while self._again:
            topic, key, value = self._again.pop(0)
            self.resent += 1
            self._produce(topic, key, value)

    def _waiting(self, why: str, pending: int) -> None:
        if self._throttle.passes("waiting")[0]:
            log.warning("waiting for kafka", why=why, pending=pending, **self._fields)

    def close(self, timeout: float | None = None) -> int:
        """Wait until every message is acknowledged or refused (for `timeout` s at most; None:
        as long as it takes); returns how many are still undelivered."""
        deadline = None if timeout is None else self._clock() + timeout
        while True:
            remaining = int(self._producer.flush(1.0)) + len(self._again)
            self._send_again()
            if remaining == 0 or (deadline is not None and self._clock() >= deadline):
                return remaining
            self._waiting("messages not yet acknowledged", remaining)
