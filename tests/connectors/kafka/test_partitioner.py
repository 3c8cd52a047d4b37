"""confluent-kafka (the listener) and aiokafka (Faust) put every key in the same partition.

Both send the same keys to one topic on the real broker and the partitions the broker
acknowledged are compared. A producer left on librdkafka's default partitioner (CRC32) is the
control: it disagrees, so the setting is what makes the two agree.
"""

from __future__ import annotations

import asyncio
import uuid

from aiokafka import AIOKafkaProducer
from confluent_kafka import Message, Producer
from confluent_kafka.admin import AdminClient

from connectors.kafka.settings import KafkaSettings
from connectors.kafka.topics import TopicSpec, provision_topics
from streams.control import partition_of

KEYS = [f"tenant-{t}:Account:001{n:015d}" for t in range(3) for n in range(100)]
PARTITIONS = 12


def _confluent_partitions(config: dict[str, object], topic: str) -> dict[str, int]:
    placed: dict[str, int] = {}

    def delivered(err: object, msg: Message) -> None:
        key, partition = msg.key(), msg.partition()
        assert err is None and isinstance(key, bytes) and partition is not None, err
        placed[key.decode()] = partition

    producer = Producer(config)
    for key in KEYS:
        producer.produce(topic, key=key.encode(), value=b"x", on_delivery=delivered)
    assert producer.flush(30) == 0
    return placed


async def _aiokafka_partitions(servers: str, topic: str) -> dict[str, int]:
    producer = AIOKafkaProducer(bootstrap_servers=servers, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        placed = {}
        for key in KEYS:
            meta = await producer.send_and_wait(topic, key=key.encode(), value=b"x")
            placed[key] = meta.partition
        return placed
    finally:
        await producer.stop()


def test_given_the_same_keys_when_sent_by_both_clients_then_the_partitions_match(
    kafka_settings: KafkaSettings,
) -> None:
    topic = f"partitioner-{uuid.uuid4().hex[:8]}"
    provision_topics(AdminClient(kafka_settings.admin_config()), [TopicSpec(topic, PARTITIONS)], 1)

    confluent = _confluent_partitions(kafka_settings.producer_config(), topic)
    aiokafka = asyncio.run(_aiokafka_partitions(kafka_settings.bootstrap_servers, topic))
    default = _confluent_partitions(
        {k: v for k, v in kafka_settings.producer_config().items() if k != "partitioner"}, topic
    )

    assert len(confluent) == len(KEYS)
    assert confluent == aiokafka
    assert len(set(confluent.values())) == PARTITIONS  # the keys really spread
    assert default != aiokafka  # the control: without murmur2 the clients disagree
    # the worker's re-evaluation picks a partition's records by this hash (streams/control.py)
    assert {k: partition_of(k, PARTITIONS) for k in KEYS} == confluent
