"""The worker's client asks the real broker for its own topics' metadata, not the cluster's."""

from __future__ import annotations

import asyncio
import logging
import uuid

import pytest
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import NodeNotReadyError
from confluent_kafka.admin import AdminClient, NewTopic
from faust.transport.drivers.aiokafka import Transport

from connectors.kafka.settings import KafkaSettings
from streams import faust_metadata
from streams.faust_metadata import NOT_FOUND


def two_new_topics(kafka: KafkaSettings) -> tuple[str, str]:
    run = uuid.uuid4().hex[:8]
    names = (f"md-{run}.ours", f"md-{run}.theirs")
    admin = AdminClient(kafka.admin_config())  # kept until the futures resolve
    created = admin.create_topics([NewTopic(n, 1) for n in names])
    for future in created.values():
        future.result(30)
    return names


async def topics_after_an_update(kafka: KafkaSettings, tracked: str | None) -> set[str]:
    client = AIOKafkaClient(bootstrap_servers=kafka.bootstrap_servers)
    await client.bootstrap()
    try:
        if tracked is not None:
            await faust_metadata.track(client, tracked)
        await client.force_metadata_update()  # what Faust does after creating each topic
        return set(client.cluster.topics())
    finally:
        await client.close()


def test_given_a_tracked_topic_when_metadata_is_forced_then_only_the_tracked_topics_are_fetched(
    kafka_settings: KafkaSettings,
) -> None:
    ours, _theirs = two_new_topics(kafka_settings)

    fetched = asyncio.run(topics_after_an_update(kafka_settings, ours))

    assert fetched == {ours}


def test_given_no_tracked_topic_then_the_update_fetches_every_topic_of_the_cluster(
    kafka_settings: KafkaSettings,
) -> None:
    """What the tracking avoids: aiokafka's client that tracks nothing asks for all topics."""
    ours, theirs = two_new_topics(kafka_settings)

    fetched = asyncio.run(topics_after_an_update(kafka_settings, None))

    assert {ours, theirs} <= fetched


async def seen_once_created(kafka: KafkaSettings, topic: str, create_after: float | None) -> bool:
    """`visible` on a client tracking `topic`, while the topic is created `create_after` seconds
    later in another thread (None: never)."""
    client = AIOKafkaClient(bootstrap_servers=kafka.bootstrap_servers)
    await client.bootstrap()
    loop = asyncio.get_running_loop()
    try:
        if create_after is not None:
            loop.call_later(create_after, lambda: loop.run_in_executor(None, create, kafka, topic))
        await faust_metadata.track(client, topic)
        return await faust_metadata.visible(client, topic, tries=40 if create_after else 5)
    finally:
        await client.close()


def create(kafka: KafkaSettings, topic: str) -> None:
    admin = AdminClient(kafka.admin_config())
    admin.create_topics([NewTopic(topic, 3)])[topic].result(30)


def test_given_a_topic_created_a_second_later_when_waiting_for_it_then_it_is_seen_with_its_partitions(
    kafka_settings: KafkaSettings,
) -> None:
    topic = f"md-{uuid.uuid4().hex[:8]}.late"

    seen = asyncio.run(seen_once_created(kafka_settings, topic, create_after=1.0))

    assert seen is True


def test_given_a_topic_never_created_when_waiting_for_it_then_the_wait_ends_false(
    kafka_settings: KafkaSettings,
) -> None:
    topic = f"md-{uuid.uuid4().hex[:8]}.never"

    seen = asyncio.run(seen_once_created(kafka_settings, topic, create_after=None))

    assert seen is False


def test_given_install_then_faust_topic_creation_goes_through_the_tracking() -> None:
    faust_metadata.install()
    faust_metadata.install()  # once per process, whoever calls it

    assert Transport.__dict__["_create_topic"] is faust_metadata._create_topic
    assert faust_metadata._original is not faust_metadata._create_topic


def not_found(topic: str) -> logging.LogRecord:
    args = (topic,)
    return logging.LogRecord("aiokafka.cluster", logging.ERROR, __file__, 1, NOT_FOUND, args, None)


def test_given_a_topic_just_created_when_aiokafka_says_it_is_not_found_then_the_line_is_info() -> (
    None
):
    record = not_found("worker-deals-changelog")

    kept = faust_metadata.JustCreated({"worker-deals-changelog"}).filter(record)

    assert kept is True
    assert (record.levelno, record.levelname) == (logging.INFO, "INFO")


def test_given_another_topic_not_found_then_the_line_stays_an_error() -> None:
    record = not_found("someone-elses-topic")

    faust_metadata.JustCreated({"worker-deals-changelog"}).filter(record)

    assert record.levelno == logging.ERROR


def test_given_a_broker_away_when_a_topic_is_created_then_the_creation_is_retried_until_it_succeeds() -> (
    None
):
    """A worker starting during a broker restart (the chaos run, seed 795111) must wait, not
    exit: Faust lets the first `NodeNotReadyError` end the worker."""
    attempts: list[int] = []
    slept: list[float] = []

    async def create() -> None:
        attempts.append(1)
        if len(attempts) < 3:
            raise NodeNotReadyError("Attempt to send a request to node which is not ready")

    async def sleep(delay: float) -> None:
        slept.append(delay)

    asyncio.run(faust_metadata.created_patiently(create, "t.changelog", sleep=sleep))

    assert len(attempts) == 3
    assert len(slept) == 2


def test_given_a_creation_the_broker_refuses_on_its_merit_then_it_is_raised_at_once() -> None:
    attempts: list[int] = []

    async def create() -> None:
        attempts.append(1)
        raise RuntimeError("Invalid controller")

    async def sleep(_delay: float) -> None:
        raise AssertionError("a refusal on its merit is not waited for")

    with pytest.raises(RuntimeError):
        asyncio.run(faust_metadata.created_patiently(create, "t.changelog", sleep=sleep))
    assert attempts == [1]
