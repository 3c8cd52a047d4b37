"""The asyncio producer: a send resolves on the broker's acknowledgement; with no broker it fails
with a transient delivery error once the delivery timeout passes, and a full local queue fails
the send at once (transient) instead of blocking the event loop."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid

from confluent_kafka.admin import AdminClient

from connectors.kafka.failures import classify
from connectors.kafka.producer import AsyncProducer, DeliveryFailed
from connectors.kafka.settings import KafkaSettings
from connectors.kafka.topics import TopicSpec, provision_topics


def refusing_port() -> int:
    """A loopback port nothing listens on: connections to it are refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def no_broker(**overrides: int) -> dict[str, object]:
    settings = KafkaSettings(bootstrap_servers=f"127.0.0.1:{refusing_port()}")
    return settings.producer_config() | {"log_level": 0} | overrides


def test_given_the_broker_then_a_send_resolves_on_its_acknowledgement(
    kafka_settings: KafkaSettings,
) -> None:
    topic = f"producer-test-{uuid.uuid4().hex[:8]}"  # its own: nothing else reads it
    provision_topics(AdminClient(kafka_settings.admin_config()), [TopicSpec(topic, 1, {})], 1)

    async def scenario() -> int | None:
        producer = AsyncProducer(kafka_settings.producer_config(), asyncio.get_running_loop())
        try:
            message = await asyncio.wait_for(producer.send(topic, "probe:x", b"{}"), 30)
            return message.offset()
        finally:
            await producer.close()

    offset = asyncio.run(scenario())
    assert offset is not None and offset >= 0


def test_given_no_broker_when_the_delivery_timeout_passes_then_the_send_fails_transiently() -> None:
    async def scenario() -> tuple[DeliveryFailed, float]:
        producer = AsyncProducer(
            no_broker(**{"message.timeout.ms": 1500}), asyncio.get_running_loop()
        )
        started = time.monotonic()
        try:
            await asyncio.wait_for(producer.send("any", "k", b"v"), 30)
        except DeliveryFailed as e:
            return e, time.monotonic() - started
        finally:
            await producer.close(timeout=1)
        raise AssertionError("delivered without a broker")

    failure, after = asyncio.run(scenario())
    verdict = classify(failure.error)
    assert (verdict.transient, verdict.reason) == (True, "_MSG_TIMED_OUT")
    assert 1.0 <= after < 15


def test_given_a_full_local_queue_then_the_send_fails_at_once_and_the_loop_runs_on() -> None:
    async def scenario() -> tuple[DeliveryFailed | None, float, int]:
        producer = AsyncProducer(
            no_broker(**{"queue.buffering.max.messages": 1}), asyncio.get_running_loop()
        )
        ticks = 0

        async def ticking() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        ticker = asyncio.create_task(ticking())
        started = time.monotonic()
        first = producer.send("any", "k", b"one")
        second = producer.send("any", "k", b"two")
        took = time.monotonic() - started
        await asyncio.sleep(0.2)
        ticker.cancel()
        error = second.exception() if second.done() else None
        first.cancel()
        await producer.close(timeout=0.5)
        return error if isinstance(error, DeliveryFailed) else None, took, ticks

    refused, took, ticks = asyncio.run(scenario())
    assert refused is not None and isinstance(refused.error, BufferError)
    verdict = classify(refused.error)
    assert (verdict.transient, verdict.reason) == (True, "_QUEUE_FULL")
    assert took < 0.5 and ticks >= 5  # the send did not hold the event loop
