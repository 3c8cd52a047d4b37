"""`InOrder`: each partition's events admitted in offset order from its committed offset.

The consumer here is mostly a stand-in that records seeks (the real consumer's behaviour at a
rebalance is what tests/streams/test_rebalance.py runs against); the rule under test is ours.
The last test runs `unstall` over a real aiokafka consumer and broker: a fetched tail dropped
before the agent (as Faust dropped one after a rebalance) is fetched again."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
from faust.types import TP

from connectors.kafka.settings import KafkaSettings
from streams.faust_fixes import Admit, InOrder, manual

CHANGES = TP("p.sf.changes", 0)


@dataclass
class Consumer:
    _committed_offset: dict[Any, int] = field(default_factory=dict)
    seeks: list[tuple[Any, int]] = field(default_factory=list)
    ends: dict[Any, int] = field(default_factory=dict)  # the highwater each fetch reported

    async def seek(self, tp: Any, offset: int) -> None:
        self.seeks.append((tp, offset))

    def highwater(self, tp: Any) -> int | None:
        return self.ends.get(tp)


@dataclass
class App:
    consumer: Any  # the stand-in Consumer, or RealConsumer
    consumer_generation_id: int = 1


@dataclass
class Message:
    tp: Any
    offset: int


@dataclass
class Event:
    message: Message


def admit_all(order: InOrder, offsets: list[int]) -> list[Admit]:
    async def run() -> list[Admit]:
        return [await order.admit(Event(Message(CHANGES, o))) for o in offsets]

    return asyncio.run(run())


@dataclass
class Clock:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now


def an_order(committed: int | None = 10, clock: Clock | None = None) -> tuple[InOrder, App]:
    offsets = {} if committed is None else {CHANGES: committed}
    app = App(Consumer(offsets))
    manual([CHANGES.topic])
    return InOrder(app, clock=clock or Clock(), stalled_after=10.0), app


def test_given_a_committed_offset_when_events_come_in_order_then_each_is_handled() -> None:
    order, app = an_order()
    assert admit_all(order, [10, 11, 12]) == [Admit.HANDLE] * 3
    assert app.consumer.seeks == []


def test_given_an_early_batch_when_it_runs_ahead_then_it_is_dropped_and_the_partition_seeks_back_once() -> (
    None
):
    order, app = an_order()
    assert admit_all(order, [14, 15, 16, 10, 11]) == [Admit.EARLY] * 3 + [Admit.HANDLE] * 2
    assert app.consumer.seeks == [(CHANGES, 10)]


def test_given_a_seek_back_when_the_event_that_asked_for_it_comes_first_again_then_it_seeks_again() -> (
    None
):
    order, app = an_order()
    assert admit_all(order, [14, 15, 14]) == [Admit.EARLY] * 3
    assert app.consumer.seeks == [(CHANGES, 10), (CHANGES, 10)]


def test_given_events_handled_when_they_are_fetched_again_then_they_are_only_acknowledged() -> None:
    order, _ = an_order()
    assert admit_all(order, [10, 11, 10, 11, 12]) == [
        Admit.HANDLE,
        Admit.HANDLE,
        Admit.AGAIN,
        Admit.AGAIN,
        Admit.HANDLE,
    ]


def test_given_a_rebalance_when_the_generation_changes_then_the_next_offset_is_the_committed_one() -> (
    None
):
    order, app = an_order()
    admit_all(order, [10, 11, 12])
    app.consumer_generation_id, app.consumer._committed_offset[CHANGES] = 2, 11
    assert admit_all(order, [11, 12, 13]) == [Admit.HANDLE] * 3


def test_given_nothing_committed_when_the_first_event_comes_then_the_group_starts_there() -> None:
    order, app = an_order(committed=None)
    assert admit_all(order, [0, 1, 3]) == [Admit.HANDLE, Admit.HANDLE, Admit.EARLY]
    assert app.consumer.seeks == [(CHANGES, 2)]


def unstall_at(order: InOrder, clock: Clock, *seconds: float) -> None:
    async def run() -> None:
        for at in seconds:
            clock.now = at
            await order.unstall([CHANGES])

    asyncio.run(run())


def test_given_a_lost_tail_when_no_event_comes_for_the_idle_time_then_the_partition_seeks_back() -> (
    None
):
    # events 10-12 handled; 13-19 were fetched (the highwater says 20) but never reached the
    # agent, and nothing comes after them: no admit can notice
    clock = Clock()
    order, app = an_order(clock=clock)
    admit_all(order, [10, 11, 12])
    app.consumer.ends[CHANGES] = 20
    unstall_at(order, clock, 5.0, 9.9)
    assert app.consumer.seeks == []
    unstall_at(order, clock, 10.0)
    assert app.consumer.seeks == [(CHANGES, 13)]


def test_given_a_seek_back_whose_refetch_is_lost_too_then_it_seeks_again_after_the_idle_time() -> (
    None
):
    clock = Clock()
    order, app = an_order(clock=clock)
    admit_all(order, [10])
    app.consumer.ends[CHANGES] = 20
    unstall_at(order, clock, 10.0, 15.0, 20.0)
    assert app.consumer.seeks == [(CHANGES, 11), (CHANGES, 11)]


def test_given_later_events_dropped_as_early_then_they_are_no_progress_and_it_seeks_back() -> None:
    # the seek back asked for by 14 was lost; 15 and 16 keep coming and are dropped unhandled
    clock = Clock()
    order, app = an_order(clock=clock)
    app.consumer.ends[CHANGES] = 17
    unstall_at(order, clock, 0.0)
    clock.now = 5.0
    admit_all(order, [14, 15, 16])
    unstall_at(order, clock, 10.0)
    assert app.consumer.seeks == [(CHANGES, 10), (CHANGES, 10)]


def test_given_events_admitted_in_order_meanwhile_then_the_partition_is_not_sought() -> None:
    clock = Clock()
    order, app = an_order(clock=clock)
    app.consumer.ends[CHANGES] = 20
    unstall_at(order, clock, 0.0)
    clock.now = 8.0
    admit_all(order, [10, 11])
    unstall_at(order, clock, 12.0, 17.9)
    assert app.consumer.seeks == []


def test_given_every_event_handled_when_the_partition_is_idle_then_it_is_not_sought() -> None:
    clock = Clock()
    order, app = an_order(clock=clock)
    admit_all(order, [10, 11, 12])
    app.consumer.ends[CHANGES] = 13
    unstall_at(order, clock, 0.0, 60.0)
    assert app.consumer.seeks == []


def test_given_a_new_generation_then_the_idle_time_counts_from_the_assignment() -> None:
    clock = Clock()
    order, app = an_order(clock=clock)
    admit_all(order, [10, 11])
    app.consumer.ends[CHANGES] = 20
    app.consumer_generation_id = 2  # a rebalance: the next offset is the committed one
    unstall_at(order, clock, 30.0, 39.0)
    assert app.consumer.seeks == []
    unstall_at(order, clock, 40.0)
    assert app.consumer.seeks == [(CHANGES, 10)]


@dataclass
class RealConsumer:
    """The parts of Faust's consumer `InOrder` uses, over a real aiokafka consumer."""

    consumer: AIOKafkaConsumer
    _committed_offset: dict[Any, int] = field(default_factory=dict)

    async def seek(self, tp: Any, offset: int) -> None:
        self.consumer.seek(tp, offset)

    def highwater(self, tp: Any) -> int | None:
        return self.consumer.highwater(tp)  # type: ignore[no-any-return]


def a_partition_of_five(kafka: KafkaSettings) -> TopicPartition:
    topic = f"unstall-{uuid.uuid4().hex[:8]}.sf.changes"
    admin = AdminClient(kafka.admin_config())
    admin.create_topics([NewTopic(topic, 1, kafka.replication_factor)])[topic].result(30)
    producer = Producer({"bootstrap.servers": kafka.bootstrap_servers})
    for n in range(5):
        producer.produce(topic, key=b"t:Account:1", value=str(n).encode())
    assert producer.flush(30) == 0
    return TopicPartition(topic, 0)


def test_given_a_real_consumer_whose_fetched_tail_was_dropped_then_unstall_fetches_it_again(
    kafka_settings: KafkaSettings,
) -> None:
    tp = a_partition_of_five(kafka_settings)
    manual([tp.topic])

    async def run() -> list[Admit]:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=kafka_settings.bootstrap_servers,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        consumer.assign([tp])
        await consumer.start()
        try:
            clock = Clock()
            order = InOrder(App(RealConsumer(consumer, {tp: 0})), clock=clock, stalled_after=10.0)
            fetched = (await consumer.getmany(tp, timeout_ms=10_000))[tp]
            assert [r.offset for r in fetched] == [0, 1, 2, 3, 4]
            for record in fetched[:2]:  # 2-4 never reach the agent, and nothing comes after
                await order.admit(Event(Message(tp, record.offset)))
            await order.unstall([tp])
            assert await consumer.getmany(tp, timeout_ms=500) == {}
            clock.now = 10.0
            await order.unstall([tp])
            again = (await consumer.getmany(tp, timeout_ms=10_000)).get(tp, [])
            return [await order.admit(Event(Message(tp, r.offset))) for r in again]
        finally:
            await consumer.stop()

    assert asyncio.run(run()) == [Admit.HANDLE] * 3
