"""A topic, messages with chosen create times and a consumer group's committed offsets on the real
broker: what the lag and replay tests read."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from connectors.kafka.settings import KafkaSettings


@contextmanager
def a_topic(kafka: KafkaSettings, prefix: str, partitions: int = 2) -> Iterator[str]:
    """A new topic, deleted afterwards."""
    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    admin = AdminClient(kafka.admin_config())
    for future in admin.create_topics([NewTopic(name, partitions, 1)]).values():
        future.result(30)
    # the controller has made the topic; the broker's metadata, which the commands read, can
    # lag behind it on a loaded machine ("topic ... does not exist" in one run of many)
    deadline = time.monotonic() + 30
    while not admin.list_topics(name, timeout=10).topics[name].partitions:
        assert time.monotonic() < deadline, f"topic {name} not in the broker's metadata"
        time.sleep(0.1)
    yield name
    for future in admin.delete_topics([name]).values():
        future.result(30)


def produce(kafka: KafkaSettings, topic: str, partition: int, count: int, at_ms: int) -> None:
    """`count` messages one second apart from `at_ms` (their create time)."""
    producer = Producer(kafka.producer_config())
    for i in range(count):
        producer.produce(topic, value=b"m", partition=partition, timestamp=at_ms + i * 1000)
    assert producer.flush(30) == 0


def commit(kafka: KafkaSettings, group: str, topic: str, *offsets: int) -> None:
    """Commit one offset per partition, in partition order, as a group with no live member."""
    consumer = Consumer(kafka.consumer_config(group) | {"enable.auto.commit": False})
    positions = [TopicPartition(topic, p, o) for p, o in enumerate(offsets)]
    consumer.commit(offsets=positions, asynchronous=False)
    consumer.close()


def a_group_with_offsets(kafka: KafkaSettings, topic: str, at_ms: int) -> str:
    """6 messages on partition 0 and 4 on partition 1; the group has read 6 and 3."""
    produce(kafka, topic, 0, 6, at_ms)
    produce(kafka, topic, 1, 4, at_ms)
    group = f"g-{topic}"
    commit(kafka, group, topic, 6, 3)
    return group


def now_ms() -> int:
    return int(time.time() * 1000)
