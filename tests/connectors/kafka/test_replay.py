"""Replay: the pure planner (table tests and a property), targets resolved by time on the real
broker, and a replay after newer changes were applied that moves nothing in the store back."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from connectors.gather import migrate
from connectors.gather.schema import accounts
from connectors.gather.sink import Sink, SinkSettings
from connectors.gather.store import SqlStore
from connectors.kafka.errors import NothingToReplayError, ReplayTargetError
from connectors.kafka.replay import (
    ByDuration,
    PartitionOffsets,
    ReplayClient,
    ReplayPlan,
    ToDatetime,
    ToEarliest,
    ToOffset,
    format_duration,
    offset_targets,
    parse_duration,
    plan_replay,
    target_timestamp_ms,
)
from connectors.kafka.settings import KafkaSettings
from connectors.kafka.topics import provision_contract_topics
from schemas.contract import Topics
from schemas.gather import GatherUpsert
from tests.builders import a_version, an_upsert
from tests.connectors.salesforce.harness import wait_until

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


# --- builders ---------------------------------------------------------------------------------


def offsets(*rows: tuple[int, int | None, int, int]) -> list[PartitionOffsets]:
    """(partition, committed, low, high) per partition."""
    return [PartitionOffsets(p, committed, low, high) for p, committed, low, high in rows]


def a_plan(rows: list[PartitionOffsets], targets: dict[int, int], **overrides: Any) -> Any:
    values: dict[str, Any] = {"group": "sink", "topic": "gather.accounts", "target_label": "t"}
    return plan_replay(offsets=rows, targets=targets, **(values | overrides))


# --- durations and targets --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        (" 2H ", timedelta(hours=2)),
    ],
)
def test_given_a_duration_when_parsed_then_it_is_that_long(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "2", "h", "2 h", "2hours", "-2h", "0s", "1.5h"])
def test_given_a_malformed_duration_when_parsed_then_it_says_how_to_write_one(text: str) -> None:
    with pytest.raises(ValueError, match=r"e\.g\. "):
        parse_duration(text)


def test_given_a_duration_when_formatted_then_it_parses_back() -> None:
    assert parse_duration(format_duration(timedelta(hours=26, seconds=5))) == timedelta(
        hours=26, seconds=5
    )


def test_given_by_duration_when_resolved_then_the_time_is_that_long_before_now() -> None:
    at = target_timestamp_ms(ByDuration(timedelta(hours=2)), NOW)

    assert at == int((NOW - timedelta(hours=2)).timestamp() * 1000)
    assert target_timestamp_ms(ToEarliest(), NOW) is None


def test_given_earliest_or_an_offset_when_targets_are_resolved_then_no_lookup_is_needed() -> None:
    rows = offsets((0, 50, 10, 60), (1, 30, 0, 40))

    assert offset_targets(ToEarliest(), rows) == {0: 10, 1: 0}
    assert offset_targets(ToOffset(25), rows) == {0: 25, 1: 25}


# --- the planner ------------------------------------------------------------------------------


def test_given_committed_offsets_when_planned_to_earlier_targets_then_from_to_and_counts() -> None:
    plan = a_plan(offsets((1, 80, 0, 90), (0, 50, 10, 60)), {0: 10, 1: 30})

    assert [(p.partition, p.committed, p.target, p.messages) for p in plan.partitions] == [
        (0, 50, 10, 40),
        (1, 80, 30, 50),
    ]
    assert plan.messages == 90 and [p.partition for p in plan.changed] == [0, 1]


@pytest.mark.parametrize(
    ("row", "target", "note"),
    [
        ((0, None, 0, 10), 0, "no committed offset: left to auto.offset.reset"),
        ((0, 5, 0, 10), 8, "already before the target: unchanged (a replay never skips messages)"),
        ((0, 5, 0, 10), 5, "already at the target: unchanged"),
    ],
)
def test_given_a_partition_a_replay_cannot_move_back_when_planned_then_it_stays_and_says_why(
    row: tuple[int, int | None, int, int], target: int, note: str
) -> None:
    plan = a_plan([*offsets(row), *offsets((1, 9, 0, 10))], {0: target, 1: 0})

    assert plan.partitions[0].note == note
    assert plan.partitions[0].messages == 0 and not plan.partitions[0].changes


def test_given_no_committed_offsets_when_planned_then_it_says_there_is_nothing_to_replay() -> None:
    with pytest.raises(NothingToReplayError, match="group 'sink' has no committed offsets on"):
        a_plan(offsets((0, None, 0, 10), (1, None, 0, 4)), {0: 0, 1: 0})


def test_given_an_offset_past_the_end_when_planned_then_it_names_the_end() -> None:
    with pytest.raises(
        ReplayTargetError, match=r"offset 11 is past the end of gather\.accounts\[0\]"
    ):
        a_plan(offsets((0, 5, 0, 10)), {0: 11})


def test_given_an_offset_no_longer_retained_when_planned_then_it_suggests_earliest() -> None:
    with pytest.raises(ReplayTargetError, match="use --to-earliest"):
        a_plan(offsets((0, 50, 20, 60)), {0: 5})


@st.composite
def _partition_and_target(draw: st.DrawFn) -> tuple[PartitionOffsets, int]:
    low = draw(st.integers(0, 1_000))
    high = draw(st.integers(low, low + 1_000))
    committed = draw(st.none() | st.integers(0, high))
    return PartitionOffsets(0, committed, low, high), draw(st.integers(low, high))


@given(st.lists(_partition_and_target(), min_size=1, max_size=8))
def test_given_any_offsets_when_planned_then_no_partition_moves_forward(
    drawn: list[tuple[PartitionOffsets, int]],
) -> None:
    rows = [PartitionOffsets(i, o.committed, o.low, o.high) for i, (o, _) in enumerate(drawn)]
    if all(o.committed is None for o in rows):
        return
    targets = {i: target for i, (_, target) in enumerate(drawn)}

    plan = a_plan(rows, targets)

    for row, planned in zip(rows, plan.partitions, strict=True):
        committed = row.committed
        expected = 0 if committed is None else max(0, committed - targets[row.partition])
        assert planned.messages == expected
        assert not planned.changes or (committed is not None and planned.target < committed)
    assert plan.messages == sum(p.messages for p in plan.partitions)


# --- on the real broker -----------------------------------------------------------------------


@pytest.fixture
def topic(kafka_settings: KafkaSettings) -> Iterator[str]:
    name = f"replay-{uuid.uuid4().hex[:10]}"
    admin = AdminClient(kafka_settings.admin_config())
    for future in admin.create_topics([NewTopic(name, 2, 1)]).values():
        future.result(30)
    yield name
    for future in admin.delete_topics([name]).values():
        future.result(30)


def produce_at(kafka: KafkaSettings, topic: str, partition: int, times_ms: list[int]) -> None:
    producer = Producer(kafka.producer_config())
    for i, ms in enumerate(times_ms):
        producer.produce(topic, value=f"m{i}".encode(), partition=partition, timestamp=ms)
    assert producer.flush(30) == 0


def commit(kafka: KafkaSettings, group: str, positions: list[TopicPartition]) -> None:
    consumer = Consumer(kafka.consumer_config(group) | {"enable.auto.commit": False})
    consumer.commit(offsets=positions, asynchronous=False)
    consumer.close()


def test_given_message_times_when_replayed_to_a_datetime_then_each_partition_starts_there(
    kafka_settings: KafkaSettings, topic: str
) -> None:
    base = 1_780_000_000_000
    produce_at(kafka_settings, topic, 0, [base + i * 60_000 for i in range(5)])
    produce_at(kafka_settings, topic, 1, [base + i * 60_000 for i in range(2)])
    group = f"g-{topic}"
    commit(kafka_settings, group, [TopicPartition(topic, 0, 5), TopicPartition(topic, 1, 2)])
    client = ReplayClient(kafka_settings)

    plan = client.plan(
        group, topic, ToDatetime(datetime.fromtimestamp(base / 1000 + 150, UTC)), NOW
    )

    # partition 0: the first message at or after base+150 s is the 4th (base+180 s);
    # partition 1 has none that late, so it starts at its end and re-reads nothing
    assert [(p.committed, p.target, p.messages) for p in plan.partitions] == [(5, 3, 2), (2, 2, 0)]


def test_given_a_group_without_offsets_when_planned_then_nothing_to_replay(
    kafka_settings: KafkaSettings, topic: str
) -> None:
    with pytest.raises(NothingToReplayError, match=f"group 'nobody-{topic}' has no committed"):
        ReplayClient(kafka_settings).plan(f"nobody-{topic}", topic, ToEarliest(), NOW)


def test_given_a_missing_topic_when_planned_then_it_says_the_topic_does_not_exist(
    kafka_settings: KafkaSettings,
) -> None:
    with pytest.raises(NothingToReplayError, match="topic 'no-such-topic-x' does not exist"):
        ReplayClient(kafka_settings).plan("g", "no-such-topic-x", ToEarliest(), NOW)


def test_given_newer_changes_applied_when_an_older_range_is_replayed_then_nothing_moves_back(
    kafka_settings: KafkaSettings, sqlite_engine: Engine
) -> None:
    provision_contract_topics(kafka_settings)
    migrate.upgrade(sqlite_engine)
    tenant = f"replay-{uuid.uuid4().hex[:8]}"
    old = an_upsert(tenant=tenant, traits={"name": "Old"}, version=a_version(ts=1_000))
    new = an_upsert(tenant=tenant, traits={"name": "New"}, version=a_version(ts=2_000))
    before = datetime.now(UTC) - timedelta(seconds=1)
    producer = Producer(kafka_settings.producer_config())
    for upsert in (old, new):
        producer.produce(
            Topics().gather_accounts, key=upsert.key.encode(), value=upsert.model_dump_json()
        )
    assert producer.flush(30) == 0
    group = f"sink-{tenant}"
    client = ReplayClient(kafka_settings)
    _run_sink_until_caught_up(kafka_settings, sqlite_engine, group, client)
    applied = _row(sqlite_engine, tenant)

    plan = client.apply(client.plan(group, Topics().gather_accounts, ToDatetime(before), NOW), NOW)
    moved_to = {
        p.partition: p.committed for p in client.partition_offsets(group, Topics().gather_accounts)
    }
    # the replayed range, applied one message at a time: the row after each step
    steps = [
        _row(sqlite_engine, tenant)
        for _ in _apply_one_by_one(kafka_settings, sqlite_engine, plan, tenant)
    ]
    _run_sink_until_caught_up(kafka_settings, sqlite_engine, group, client)

    assert applied["traits"] == {"name": "New"}
    assert plan.messages >= 2 and len(steps) == 2  # the old change is re-read, then the new
    assert all(p.target == moved_to[p.partition] for p in plan.changed)
    assert steps == [applied, applied]
    assert _row(sqlite_engine, tenant) == applied


def _apply_one_by_one(
    kafka: KafkaSettings, engine: Engine, plan: ReplayPlan, tenant: str
) -> Iterator[GatherUpsert]:
    """The tenant's upserts of the replayed range, each written to the store on its own."""
    store = SqlStore.for_engine(engine)
    consumer = Consumer(kafka.consumer_config(f"read-{tenant}") | {"enable.auto.commit": False})
    consumer.assign([TopicPartition(plan.topic, p.partition, p.target) for p in plan.changed])
    ends = {p.partition: p.high for p in plan.changed}
    try:
        while ends and (message := consumer.poll(10)) is not None:
            if (message.offset() or 0) + 1 >= ends.get(message.partition() or 0, 0):
                ends.pop(message.partition() or 0, None)
            if (message.key() or b"").decode().startswith(f"{tenant}:"):
                upsert = GatherUpsert.model_validate_json(message.value() or b"")
                store.apply([upsert], NOW)
                yield upsert
    finally:
        consumer.close()


def _run_sink_until_caught_up(
    kafka: KafkaSettings, engine: Engine, group: str, client: ReplayClient
) -> None:
    sink = Sink(SqlStore.for_engine(engine), kafka, SinkSettings(group_id=group), now=lambda: NOW)
    stop = threading.Event()
    worker = threading.Thread(target=sink.run, args=(stop,))
    worker.start()
    try:
        assert wait_until(lambda: _caught_up(client, group), timeout=90)
    finally:
        stop.set()
        worker.join(30)


def _caught_up(client: ReplayClient, group: str) -> bool:
    rows = client.partition_offsets(group, Topics().gather_accounts)
    return all(r.committed == r.high for r in rows if r.high > r.low)


def _row(engine: Engine, tenant: str) -> dict[str, Any]:
    with engine.connect() as db:
        row = db.execute(
            select(accounts.c.traits, accounts.c.trait_versions, accounts.c.deleted).where(
                accounts.c.tenant == tenant
            )
        ).one()
    return dict(row._mapping)
