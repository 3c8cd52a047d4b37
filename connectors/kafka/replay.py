"""Replaying a consumer group: move its committed offsets on a topic back, so it re-reads.

A replay is safe by construction: the worker's merge and the store's upserts keep the highest
version per field, so re-reading older changes never moves the store backwards
(`tests/connectors/kafka/test_replay.py` replays a range into the store, one message at a time
and through the sink, after newer changes were applied).

Kafka changes a group's offsets only while the group has no members (the broker answers
UNKNOWN_MEMBER_ID otherwise), so a replay refuses a group with live members and says how to stop
them. The AdminClient calls (list and alter a group's offsets, list offsets by time) are KIP-396's:
https://cwiki.apache.org/confluence/display/KAFKA/KIP-396%3A+Add+Commit%2FList+Offsets+Operations+to+AdminClient

Every applied replay is recorded in the compacted topic `gather.replays`, keyed
`group:topic:partition` (the newest replay of each partition is kept), so `gather-sync lag` can
tell a replay's REWIND from an unexplained one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from confluent_kafka import (
    ConsumerGroupTopicPartitions,
    IsolationLevel,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, NewTopic, OffsetSpec
from pydantic import BaseModel, ConfigDict, ValidationError

from connectors.kafka.compacted import read_compacted
from connectors.kafka.errors import (
    GroupHasLiveMembersError,
    NothingToReplayError,
    ReplayError,
    ReplayTargetError,
)
from connectors.kafka.settings import KafkaSettings

log = structlog.get_logger(__name__)

REPLAYS_TOPIC = "gather.replays"  # after KAFKA_TOPIC_PREFIX, as every topic


def replays_topic(settings: KafkaSettings) -> str:
    return settings.topic_prefix + REPLAYS_TOPIC


NO_OFFSET = -1001  # librdkafka's OFFSET_INVALID: the group committed nothing for the partition


# --- targets ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ToEarliest:
    def describe(self) -> str:
        return "the earliest retained offset"


@dataclass(frozen=True)
class ToDatetime:
    at: datetime

    def describe(self) -> str:
        return f"the first message at or after {self.at.isoformat()}"


@dataclass(frozen=True)
class ByDuration:
    duration: timedelta

    def describe(self) -> str:
        return f"the first message of the last {format_duration(self.duration)}"


@dataclass(frozen=True)
class ToOffset:
    offset: int

    def describe(self) -> str:
        return f"offset {self.offset}"


ReplayTarget = ToEarliest | ToDatetime | ByDuration | ToOffset

_DURATION_PART = re.compile(r"(\d+)([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """`90s`, `15m`, `2h`, `1d`, `1h30m` -> a timedelta; anything else is refused."""
    compact = text.strip().lower()
    parts = _DURATION_PART.findall(compact)
    if not parts or "".join(n + u for n, u in parts) != compact:
        raise ValueError(f"'{text}' is not a duration; write e.g. 90s, 15m, 2h, 1d or 1h30m")
    seconds = sum(int(n) * _UNIT_SECONDS[u] for n, u in parts)
    if seconds == 0:
        raise ValueError(f"'{text}' is an empty duration; give a positive one, e.g. 2h")
    return timedelta(seconds=seconds)


def format_duration(duration: timedelta) -> str:
    seconds = int(duration.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


def target_timestamp_ms(target: ReplayTarget, now: datetime) -> int | None:
    """The message time a target names (ms since the epoch), or None for offset targets."""
    if isinstance(target, ToDatetime):
        return int(target.at.timestamp() * 1000)
    if isinstance(target, ByDuration):
        return int((now - target.duration).timestamp() * 1000)
    return None


# --- the pure planner -------------------------------------------------------------------------


@dataclass(frozen=True)
class PartitionOffsets:
    """Where a group stands on one partition: its committed offset and the partition's range."""

    partition: int
    committed: int | None  # None: the group never committed on this partition
    low: int  # the earliest retained offset
    high: int  # the end offset (the next to be written)


@dataclass(frozen=True)
class PartitionPlan:
    partition: int
    committed: int | None
    target: int
    low: int
    high: int

    @property
    def changes(self) -> bool:
        return self.committed is not None and self.target < self.committed

    @property
    def messages(self) -> int:
        """Messages the group will read a second time."""
        return self.committed - self.target if self.committed is not None and self.changes else 0

    @property
    def note(self) -> str:
        if self.committed is None:
            return "no committed offset: left to auto.offset.reset"
        if self.target > self.committed:
            return "already before the target: unchanged (a replay never skips messages)"
        return "" if self.changes else "already at the target: unchanged"


@dataclass(frozen=True)
class ReplayPlan:
    group: str
    topic: str
    target: str  # what the option asked for, in words
    partitions: tuple[PartitionPlan, ...]
    live_members: tuple[str, ...] = ()

    @property
    def messages(self) -> int:
        return sum(p.messages for p in self.partitions)

    @property
    def changed(self) -> tuple[PartitionPlan, ...]:
        return tuple(p for p in self.partitions if p.changes)


def plan_replay(
    group: str,
    topic: str,
    offsets: Sequence[PartitionOffsets],
    targets: Mapping[int, int],
    target_label: str,
    live_members: Sequence[str] = (),
) -> ReplayPlan:
    """Per partition, from where (the committed offset) to where (the target) and how many
    messages will be re-read. A partition whose committed offset is already before the target
    stays where it is: moving it forward would skip messages, which is not a replay."""
    if not offsets or all(o.committed is None for o in offsets):
        raise NothingToReplayError(
            f"group '{group}' has no committed offsets on topic '{topic}': nothing to replay "
            f"(a group without offsets starts where auto.offset.reset says); check the group "
            f"and topic names with `gather-sync lag`"
        )
    plans = []
    for partition in sorted(offsets, key=lambda o: o.partition):
        target = targets[partition.partition]
        _check_in_range(topic, partition, target)
        plans.append(
            PartitionPlan(
                partition.partition, partition.committed, target, partition.low, partition.high
            )
        )
    return ReplayPlan(group, topic, target_label, tuple(plans), tuple(live_members))


def _check_in_range(topic: str, partition: PartitionOffsets, target: int) -> None:
    where = f"{topic}[{partition.partition}]"
    if target > partition.high:
        raise ReplayTargetError(
            f"offset {target} is past the end of {where}, whose next offset is "
            f"{partition.high}; give an offset of at most {partition.high}, or use "
            f"--to-datetime/--by-duration"
        )
    if target < partition.low:
        raise ReplayTargetError(
            f"offset {target} of {where} is no longer retained (the earliest is "
            f"{partition.low}); use --to-earliest or an offset of at least {partition.low}"
        )


def offset_targets(target: ReplayTarget, offsets: Sequence[PartitionOffsets]) -> dict[int, int]:
    """Targets that need no lookup by time: the earliest offset, or one offset everywhere."""
    if isinstance(target, ToEarliest):
        return {o.partition: o.low for o in offsets}
    if isinstance(target, ToOffset):
        return {o.partition: target.offset for o in offsets}
    raise ValueError(f"{target} is resolved by timestamp")


# --- the audit trail --------------------------------------------------------------------------


class ReplayRecord(BaseModel):
    """One applied replay of one partition, as written to `gather.replays`."""

    model_config = ConfigDict(frozen=True)

    group: str
    topic: str
    partition: int
    from_offset: int
    to_offset: int
    end_offset: int  # the partition's end when the replay was applied
    applied_at: datetime

    @property
    def key(self) -> str:
        return f"{self.group}:{self.topic}:{self.partition}"


def replay_records(plan: ReplayPlan, applied_at: datetime) -> list[ReplayRecord]:
    return [
        ReplayRecord(
            group=plan.group,
            topic=plan.topic,
            partition=p.partition,
            from_offset=p.committed if p.committed is not None else p.target,
            to_offset=p.target,
            end_offset=p.high,
            applied_at=applied_at,
        )
        for p in plan.changed
    ]


# --- I/O with the cluster ---------------------------------------------------------------------


def describe_members(
    admin: AdminClient, groups: Sequence[str], timeout: float = 30.0
) -> dict[str, tuple[str, ...]]:
    """Each group's live members as `client.id@host` (an unknown group has none)."""
    if not groups:
        return {}
    futures = admin.describe_consumer_groups(list(groups), request_timeout=timeout)
    members: dict[str, tuple[str, ...]] = {}
    for group, future in futures.items():
        description = future.result()
        members[group] = tuple(
            f"{m.client_id}@{(m.host or '').lstrip('/')}" for m in description.members
        )
    return members


class ReplayClient:
    """Plans and applies replays against one cluster."""

    def __init__(self, settings: KafkaSettings, timeout: float = 30.0) -> None:
        self.settings = settings
        self.timeout = timeout
        self.admin = AdminClient(settings.admin_config())
        self.replays_topic = replays_topic(settings)

    def plan(self, group: str, topic: str, target: ReplayTarget, now: datetime) -> ReplayPlan:
        offsets = self.partition_offsets(group, topic)
        targets = self.resolve(topic, offsets, target, now)
        members = describe_members(self.admin, [group], self.timeout)[group]
        return plan_replay(group, topic, offsets, targets, target.describe(), members)

    def apply(self, plan: ReplayPlan, now: datetime) -> ReplayPlan:
        """Move the offsets of `plan` (made just before); refuse while the group has members."""
        members = describe_members(self.admin, [plan.group], self.timeout)[plan.group]
        if members:
            raise _live_members_error(plan.group, members)
        if plan.changed:
            self._alter(plan)
            self._record(replay_records(plan, now))
        log.info(
            "replay applied",
            group=plan.group,
            topic=plan.topic,
            partitions=[p.partition for p in plan.changed],
            messages=plan.messages,
        )
        return plan

    def partition_offsets(self, group: str, topic: str) -> list[PartitionOffsets]:
        partitions = self._partitions(topic)
        committed = self._committed(group, topic, partitions)
        low = self._list_offsets(topic, partitions, earliest_spec())
        high = self._list_offsets(topic, partitions, latest_spec())
        return [PartitionOffsets(p, committed.get(p), low[p], high[p]) for p in partitions]

    def resolve(
        self, topic: str, offsets: Sequence[PartitionOffsets], target: ReplayTarget, now: datetime
    ) -> dict[int, int]:
        timestamp = target_timestamp_ms(target, now)
        if timestamp is None:
            return offset_targets(target, offsets)
        found = self._list_offsets(
            topic, [o.partition for o in offsets], OffsetSpec.for_timestamp(timestamp)
        )
        # -1: no message at or after that time; the replay starts at the end (re-reads nothing)
        return {
            o.partition: found[o.partition] if found[o.partition] >= 0 else o.high for o in offsets
        }

    def read_replays(self) -> list[ReplayRecord]:
        """The newest recorded replay of every partition (none if no replay was ever applied)."""
        if self.replays_topic not in self.admin.list_topics(timeout=self.timeout).topics:
            return []
        config = self.settings.consumer_config(f"{self.settings.client_id}-replays-reader")
        records = []
        for key, value in read_compacted(config, self.replays_topic, self.timeout).items():
            try:
                records.append(ReplayRecord.model_validate_json(value))
            except ValidationError as e:
                log.warning("unreadable replay record skipped", key=key, error=str(e)[:200])
        return records

    def _partitions(self, topic: str) -> list[int]:
        metadata = self.admin.list_topics(timeout=self.timeout).topics.get(topic)
        if metadata is None or not metadata.partitions:
            raise NothingToReplayError(
                f"topic '{topic}' does not exist; check its name (`gather-sync lag` lists the "
                f"topics groups read)"
            )
        return sorted(metadata.partitions)

    def _committed(self, group: str, topic: str, partitions: list[int]) -> dict[int, int]:
        request = ConsumerGroupTopicPartitions(
            group, [TopicPartition(topic, p) for p in partitions]
        )
        futures = self.admin.list_consumer_group_offsets([request], request_timeout=self.timeout)
        answer = futures[group].result()
        return {tp.partition: tp.offset for tp in answer.topic_partitions if tp.offset != NO_OFFSET}

    def _list_offsets(self, topic: str, partitions: list[int], spec: OffsetSpec) -> dict[int, int]:
        request = {TopicPartition(topic, p): spec for p in partitions}
        futures = self.admin.list_offsets(
            request, isolation_level=IsolationLevel.READ_COMMITTED, request_timeout=self.timeout
        )
        return {tp.partition: future.result().offset for tp, future in futures.items()}

    def _alter(self, plan: ReplayPlan) -> None:
        offsets = [TopicPartition(plan.topic, p.partition, p.target) for p in plan.changed]
        request = ConsumerGroupTopicPartitions(plan.group, offsets)
        futures = self.admin.alter_consumer_group_offsets([request], request_timeout=self.timeout)
        try:
            answer = futures[plan.group].result()
        except KafkaException as e:
            raise ReplayError(f"Kafka refused the new offsets of '{plan.group}': {e}") from e
        errors = [tp.error for tp in answer.topic_partitions if tp.error is not None]
        if any(e.name() == "UNKNOWN_MEMBER_ID" for e in errors):
            # a member joined between the check and the change
            members = describe_members(self.admin, [plan.group], self.timeout)[plan.group]
            raise _live_members_error(plan.group, members or ("a member that just joined",))
        if errors:
            raise ReplayError(f"Kafka refused the new offsets of '{plan.group}': {errors[0]}")

    def _record(self, records: list[ReplayRecord]) -> None:
        self._ensure_replays_topic()
        producer = Producer(self.settings.producer_config())
        for record in records:
            producer.produce(
                self.replays_topic,
                key=record.key.encode(),
                value=record.model_dump_json().encode(),
            )
        if producer.flush(self.timeout) != 0:
            raise ReplayError(
                f"the offsets were moved, but the audit record could not be written to "
                f"{self.replays_topic}; `gather-sync lag` will show this rewind as an unexplained "
                f"REWIND"
            )

    def _ensure_replays_topic(self) -> None:
        topic = NewTopic(
            self.replays_topic,
            num_partitions=1,
            replication_factor=self.settings.replication_factor,
            config={"cleanup.policy": "compact", "min.compaction.lag.ms": "0"},
        )
        for future in self.admin.create_topics([topic], request_timeout=self.timeout).values():
            try:
                future.result()
            except KafkaException as e:
                if e.args[0].name() != "TOPIC_ALREADY_EXISTS":
                    raise ReplayError(f"cannot create {self.replays_topic}: {e}") from e


def earliest_spec() -> OffsetSpec:
    """OffsetSpec's factories are untyped in confluent-kafka."""
    return OffsetSpec.earliest()  # type: ignore[no-untyped-call,no-any-return]


def latest_spec() -> OffsetSpec:
    return OffsetSpec.latest()  # type: ignore[no-untyped-call,no-any-return]


def _live_members_error(group: str, members: Sequence[str]) -> GroupHasLiveMembersError:
    return GroupHasLiveMembersError(
        f"group '{group}' has {len(members)} live member(s): {', '.join(members)}. Kafka moves "
        f"a group's offsets only while it has no members: stop every process consuming with "
        f"group '{group}' (Ctrl-C or `kill -TERM <pid>` for `gather-sync sink`, the Faust "
        f"worker or a listener; scale a deployment to 0 replicas), wait for them to leave the "
        f"group, then run the replay again (--dry-run shows the plan meanwhile)"
    )
