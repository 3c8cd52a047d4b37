"""Reading a compacted topic whole: the newest value of every key (configs, checkpoints)."""

from __future__ import annotations

from typing import Any

from confluent_kafka import Consumer, TopicPartition


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
