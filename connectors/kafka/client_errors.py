"""librdkafka's `error_cb`: errors of a client as a whole (all brokers down, a connection
refused), which reach no message and no call. Without it they go to stderr as raw `%3|FAIL`
lines and the stage's own log says nothing while it waits for the broker.

Each error is counted in `gather_sync_kafka_client_errors_total{stage, code}`; each code is
logged the first time and then once per window, with how many it held back.
https://docs.confluent.io/platform/current/clients/confluent-kafka-python/html/index.html#kafka-client-configuration
"""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog
from confluent_kafka import KafkaError

from connectors.kafka.failures import classify
from connectors.telemetry.metrics import KAFKA_CLIENT_ERRORS
from connectors.telemetry.throttle import Throttle

log = structlog.get_logger(__name__)

WINDOW = 30.0  # seconds between two lines of one error code


class ClientErrors:
    def __init__(
        self, stage: str, window: float = WINDOW, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.stage, self._throttle = stage, Throttle(window, clock)

    def __call__(self, error: KafkaError) -> None:
        code = error.name()
        KAFKA_CLIENT_ERRORS.labels(self.stage, code).inc()
        logged, held, _ = self._throttle.passes(code)
        if not logged:
            return
        verdict = classify(error)
        emit = log.warning if verdict.transient else log.error
        emit(
            "waiting for kafka" if verdict.transient else "kafka client error",
            stage=self.stage,
            code=code,
            failure=str(verdict.failure),
            reason=error.str(),
            held_back=held,
        )

    def config(self) -> dict[str, object]:
        """To merge into a client's config."""
        return {"error_cb": self}
