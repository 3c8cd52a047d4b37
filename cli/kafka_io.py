"""Small synchronous Kafka helpers for one-shot commands (apply a config, backfill)."""

from __future__ import annotations

from typing import Any

from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition


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


def read_compacted(
    consumer_config: dict[str, Any], topic: str, timeout: float = 30.0
) -> dict[str, bytes]:
    """The newest value of every key of a compacted topic (tombstones drop the key)."""
    consumer = Consumer(consumer_config | {"enable.auto.commit": False})
    try:
        partitions = consumer.list_topics(topic, timeout=timeout).topics[topic].partitions
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout)[1]
            for p in partitions
        }
        consumer.assign([TopicPartition(topic, p, 0) for p in ends])
        latest: dict[str, bytes] = {}
        open_ends = {p: e for p, e in ends.items() if e > 0}
        while open_ends and (message := consumer.poll(timeout)) is not None:
            if message.error() is None:
                key, value = (message.key() or b"").decode(), message.value()
                if value is None:
                    latest.pop(key, None)
                else:
                    latest[key] = value
                if (message.offset() or 0) + 1 >= open_ends.get(message.partition() or 0, 0):
                    open_ends.pop(message.partition() or 0, None)
        return latest
    finally:
        consumer.close()
