"""Checkpoints move only over acknowledged changes, in replay order; what was in flight is
forgotten after a failure (received again); an unreadable record does not stop the read."""

from __future__ import annotations

import asyncio
import uuid

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from connectors.kafka.settings import KafkaSettings
from connectors.kafka.topics import TopicSpec, provision_topics
from connectors.salesforce.checkpoints import ChannelCheckpointer, Checkpoint, read_checkpoints


def test_given_out_of_order_acks_then_the_checkpoint_stops_at_the_first_unacked() -> None:
    async def scenario() -> list[Checkpoint]:
        loop = asyncio.get_running_loop()
        written: list[Checkpoint] = []
        cp = ChannelCheckpointer(
            "acme",
            "/data/AccountChangeEvent",
            lambda _k, c: written.append(c),
            now=lambda: 100.0,
            interval=0.0,
        )
        futures = [loop.create_future() for _ in range(3)]
        for n, future in enumerate(futures, start=1):
            cp.track(n, 1000 + n, future)
        futures[1].set_result(None)
        futures[2].set_result(None)
        cp.advance()
        futures[0].set_result(None)
        cp.advance()
        return written

    assert asyncio.run(scenario()) == [Checkpoint(3, 1003)]


def test_given_a_failed_delivery_then_the_checkpoint_never_passes_it() -> None:
    async def scenario() -> tuple[Checkpoint | None, bool]:
        loop = asyncio.get_running_loop()
        cp = ChannelCheckpointer("acme", "c", lambda _k, _c: None, now=lambda: 0.0, interval=0.0)
        ok, bad, later = (loop.create_future() for _ in range(3))
        for n, f in enumerate((ok, bad, later), start=1):
            cp.track(n, n, f)
        ok.set_result(None)
        bad.set_exception(RuntimeError("broker down"))
        later.set_result(None)
        cp.advance()
        return cp.acknowledged, cp.failed() is not None

    assert asyncio.run(scenario()) == (Checkpoint(1, 1), True)


def test_given_the_interval_not_elapsed_then_nothing_is_written_until_forced() -> None:
    async def scenario() -> int:
        loop = asyncio.get_running_loop()
        writes: list[Checkpoint] = []
        clock = [0.0]
        cp = ChannelCheckpointer(
            "acme", "c", lambda _k, c: writes.append(c), now=lambda: clock[0], interval=5.0
        )
        for n in range(1, 4):
            done = loop.create_future()
            done.set_result(None)
            cp.track(n, n, done)
            cp.advance()
        cp.advance(force=True)
        return len(writes)

    assert asyncio.run(scenario()) == 1


def test_given_a_checkpoint_when_encoded_then_it_decodes_equal() -> None:
    assert Checkpoint.decode(Checkpoint(12, 1_700_000_000_000).encode()) == Checkpoint(
        12, 1_700_000_000_000
    )


def test_given_sends_in_flight_then_the_wait_is_the_oldest_unacknowledged_ones() -> None:
    async def scenario() -> list[float]:
        loop = asyncio.get_running_loop()
        clock = [10.0]
        cp = ChannelCheckpointer("acme", "c", lambda _k, _c: None, lambda: clock[0], 0.0)
        first, second = loop.create_future(), loop.create_future()
        cp.track(1, 1, first)
        clock[0] = 12.0
        cp.track(2, 2, second)
        clock[0] = 15.0
        waits = [cp.waiting_for()]
        first.set_result(None)
        waits.append(cp.waiting_for())
        second.set_result(None)
        waits.append(cp.waiting_for())
        return waits

    assert asyncio.run(scenario()) == [5.0, 3.0, 0.0]


def test_given_a_failed_send_when_forgetting_then_the_checkpoint_keeps_what_was_acknowledged() -> (
    None
):
    async def scenario() -> tuple[int, Checkpoint | None, int, bool]:
        loop = asyncio.get_running_loop()
        cp = ChannelCheckpointer("acme", "c", lambda _k, _c: None, lambda: 0.0, 0.0)
        ok, bad, later, pending = (loop.create_future() for _ in range(4))
        for n, f in enumerate((ok, bad, later, pending), start=1):
            cp.track(n, n, f)
        ok.set_result(None)
        bad.set_exception(RuntimeError("_MSG_TIMED_OUT"))
        later.set_result(None)
        dropped = cp.forget_unacknowledged()
        # what was in flight and settles later moves nothing: it is received again instead
        pending.set_result(None)
        cp.advance()
        return dropped, cp.acknowledged, cp.in_flight, cp.failed() is None

    assert asyncio.run(scenario()) == (3, Checkpoint(1, 1), 0, True)


def test_given_an_unreadable_record_in_the_topic_then_the_others_are_still_read(
    kafka_settings: KafkaSettings,
) -> None:
    # A foreign '{}' once stopped every listener of the shared broker at start-up (KeyError).
    topic = f"checkpoints-{uuid.uuid4().hex[:8]}"
    spec = TopicSpec(topic, 1, {"cleanup.policy": "compact"})
    provision_topics(AdminClient(kafka_settings.admin_config()), [spec], 1)
    producer = Producer(kafka_settings.producer_config())
    producer.produce(topic, key=b"acme:/data/AccountChangeEvent", value=Checkpoint(9, 99).encode())
    producer.produce(topic, key=b"probe:x", value=b"{}")
    producer.produce(topic, key=b"other:/data/AccountChangeEvent", value=b"not json")
    assert producer.flush(30) == 0

    found = read_checkpoints(kafka_settings.consumer_config(f"cp-{uuid.uuid4().hex[:8]}"), topic)

    assert found == {"acme:/data/AccountChangeEvent": Checkpoint(9, 99)}
