"""Reading a compacted topic on the real broker, whole or one key's partition only (how
`explain` finds one record in the worker's changelog without reading all of it)."""

from __future__ import annotations

import uuid
from functools import partial

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from connectors.kafka.compacted import read_compacted
from connectors.kafka.settings import KafkaSettings
from connectors.kafka.topics import TopicSpec, provision_topics
from streams.control import partition_of

KEYS = [f"acme:Account:001{n:015d}" for n in range(30)]


def a_topic_with_keys(kafka: KafkaSettings) -> str:
    """A 3-partition topic holding each key once, sent by the producer every stage uses."""
    topic = f"compacted-{uuid.uuid4().hex[:8]}"
    provision_topics(AdminClient(kafka.admin_config()), [TopicSpec(topic, 3)], 1)
    producer = Producer(kafka.producer_config())
    for key in KEYS:
        producer.produce(topic, key=key.encode(), value=key.encode())
    assert producer.flush(30) == 0
    return topic


def group(kafka: KafkaSettings) -> dict[str, object]:
    return kafka.consumer_config(f"compacted-{uuid.uuid4().hex[:8]}")


def test_given_a_key_when_its_partition_is_picked_then_it_is_found_and_the_others_are_not_read(
    kafka_settings: KafkaSettings,
) -> None:
    topic = a_topic_with_keys(kafka_settings)
    wanted = KEYS[7]

    found = read_compacted(group(kafka_settings), topic, pick=partial(partition_of, wanted))

    assert found[wanted] == wanted.encode()
    # only that partition was read: every key read shares it, and the others' keys are absent
    assert {partition_of(k, 3) for k in found} == {partition_of(wanted, 3)}
    assert 0 < len(found) < len(KEYS)


def test_given_no_pick_then_every_key_of_every_partition_is_read(
    kafka_settings: KafkaSettings,
) -> None:
    topic = a_topic_with_keys(kafka_settings)

    assert sorted(read_compacted(group(kafka_settings), topic)) == sorted(KEYS)
