"""Every message of some topics, read from the start up to their end offsets at the time."""

from __future__ import annotations

import uuid

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource

from connectors.kafka.settings import KafkaSettings


def read_all(kafka: KafkaSettings, topics: list[str]) -> list[tuple[bytes, bytes]]:
    """(key, value) of every message of the topics, each partition in order."""
    consumer = Consumer(kafka.consumer_config(f"test-reader-{uuid.uuid4().hex[:8]}"))
    metadata = consumer.list_topics(timeout=10).topics
    partitions = [
        TopicPartition(t, p, OFFSET_BEGINNING) for t in topics for p in metadata[t].partitions
    ]
    ends = {
        (tp.topic, tp.partition): consumer.get_watermark_offsets(tp, timeout=10)[1]
        for tp in partitions
    }
    consumer.assign(partitions)
    found, position = [], dict.fromkeys(ends, 0)
    while any(position[key] < end for key, end in ends.items()):
        message = consumer.poll(1.0)
        if message is None or message.error() is not None:
            continue
        position[(message.topic() or "", message.partition() or 0)] = (message.offset() or 0) + 1
        found.append((message.key() or b"", message.value() or b""))
    consumer.close()
    return found


def limit_message_size(kafka: KafkaSettings, topic: str, most: int) -> None:
    """Set the topic's max.message.bytes, so a test can make the broker refuse a message."""
    entry = ConfigEntry("max.message.bytes", str(most), incremental_operation=AlterConfigOpType.SET)
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic, incremental_configs=[entry])
    admin = AdminClient(kafka.admin_config())  # kept until the results are in
    for done in admin.incremental_alter_configs([resource]).values():
        done.result(timeout=30)
