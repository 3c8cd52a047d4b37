"""Small synchronous Kafka helpers for one-shot commands (apply a config, backfill)."""

from __future__ import annotations

from typing import Any

from confluent_kafka import KafkaError, Message, Producer


class SyncPublisher:
    """Produce and count the broker's acknowledgements; `close` flushes and reports failures."""

    def __init__(self, config: dict[str, Any]) -> None:
        self._producer = Producer(config)
        self.acknowledged = 0
        self.failed: list[str] = []

    def send(self, topic: str, key: str, value: bytes | None) -> None:
        while True:
            try:
                self._producer.produce(topic, key=key.encode(), value=value, on_delivery=self._done)
                break
            except BufferError:
                self._producer.poll(0.1)
        self._producer.poll(0)

    def _done(self, err: KafkaError | None, _msg: Message) -> None:
        if err is None:
            self.acknowledged += 1
        else:
            self.failed.append(str(err))

    def close(self, timeout: float = 60.0) -> int:
        return int(self._producer.flush(timeout))
