"""Where each stage stands in Kafka at the end of a run: every topic of the run's prefix with its
partitions' end offsets, and each consumer group's committed offset and lag on them. A stalled
stage shows as a group whose lag on some partition stays above zero (written to offsets.txt)."""

from __future__ import annotations

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient

from connectors.kafka.settings import KafkaSettings


def end_offsets(kafka: KafkaSettings, prefix: str) -> dict[tuple[str, int], int]:
    """(topic, partition) -> its end offset, for every topic of the run."""
    admin = AdminClient(kafka.admin_config())
    topics = admin.list_topics(timeout=30).topics
    consumer = Consumer(kafka.admin_config() | {"group.id": "chaos-offsets"})
    try:
        found = {}
        for name, meta in sorted(topics.items()):
            if not name.startswith(prefix):
                continue
            for partition in sorted(meta.partitions):
                low_high = consumer.get_watermark_offsets(
                    TopicPartition(name, partition), timeout=10
                )
                found[(name, partition)] = low_high[1]
        return found
    finally:
        consumer.close()


def committed(kafka: KafkaSettings) -> dict[str, dict[tuple[str, int], int]]:
    """group -> (topic, partition) -> its committed offset."""
    admin = AdminClient(kafka.admin_config())
    listed = admin.list_consumer_groups(request_timeout=30).result(timeout=30)
    groups = sorted(g.group_id for g in listed.valid if g.group_id != "chaos-offsets")
    result: dict[str, dict[tuple[str, int], int]] = {}
    for group in groups:
        future = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])
        answer = future[group].result(timeout=30)
        result[group] = {
            (tp.topic, tp.partition): tp.offset for tp in answer.topic_partitions or []
        }
    return result


def render(kafka: KafkaSettings, prefix: str) -> str:
    """One line per topic partition: its end offset, then each group reading it with its
    committed offset and lag."""
    ends = end_offsets(kafka, prefix)
    groups = committed(kafka)
    lines = []
    for (topic, partition), end in ends.items():
        readers = [
            f"{group}={offsets[(topic, partition)]} (lag {end - offsets[(topic, partition)]})"
            for group, offsets in groups.items()
            if (topic, partition) in offsets
        ]
        lines.append(f"{topic}[{partition}] end={end} " + " ".join(readers))
    return "\n".join(lines) + "\n"
