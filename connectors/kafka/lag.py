"""Consumer lag: per group, topic and partition, in messages and in seconds, with a status.

Lag in seconds follows kafka-lag-exporter: a per-partition table of (latest offset, time)
samples, in which the time the committed offset was the latest offset is interpolated (or
extrapolated); lag = now - that time.
https://github.com/seglo/kafka-lag-exporter#estimate-consumer-group-time-lag

The status follows Burrow's consumer lag evaluation rules over a sliding window of
(committed offset, lag, time) observations:
https://github.com/linkedin/Burrow/wiki/Consumer-Lag-Evaluation-Rules
with the rewind rule of https://github.com/linkedin/Burrow/pull/716 (a rewind counts until the
group is back where it was, even if its lag was zero before).

Every function here is pure; times are seconds since the epoch, and `now` is always passed in.
Reading the cluster (the committed and end offsets, the message times) is
connectors/kafka/lag_collector.py's; this module imports no Kafka client, so the model loads
and is tested without one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from itertools import pairwise
from typing import TYPE_CHECKING

import structlog

from connectors.kafka.errors import FreshnessUnavailableError

if TYPE_CHECKING:
    # For annotations only: connectors.kafka.replay imports confluent_kafka, and the model reads
    # nothing of a replay record but its fields.
    from connectors.kafka.replay import ReplayRecord

log = structlog.get_logger(__name__)

# Burrow's defaults: 10 commits in the window; kafka-lag-exporter keeps 60 samples a partition.
DEFAULT_WINDOW = 10
DEFAULT_TABLE_SIZE = 60


# --- lag in seconds (kafka-lag-exporter) ------------------------------------------------------


@dataclass(frozen=True)
class Point:
    """The partition's latest offset at a time."""

    offset: int
    time: float


def add_point(points: tuple[Point, ...], point: Point, limit: int) -> tuple[Point, ...]:
    """kafka-lag-exporter's `LookupTable.addPoint`: ignore samples out of time or offset
    order, keep a flat run as its first and last sample, drop the oldest past `limit`."""
    if points:
        last = points[-1]
        if last.time >= point.time or last.offset > point.offset:
            return points
        if last.offset == point.offset and len(points) > 1 and points[-2].offset == point.offset:
            return (*points[:-1], point)
    return (*points, point)[-limit:]


def predict_time(points: Sequence[Point], offset: int) -> tuple[float, bool] | None:
    """When `offset` was the latest offset, and whether that was extrapolated
    (kafka-lag-exporter's `LookupTable.lookup`); None with fewer than two samples."""
    if len(points) < 2:
        return None
    for left, right in reversed(list(pairwise(points))):
        if left.offset <= offset <= right.offset:
            return _on_line(left, right, offset), False
    return _on_line(points[0], points[-1], offset), True


def _on_line(left: Point, right: Point, offset: int) -> float:
    if right.offset == left.offset:
        # A flat table has no slope: the offset was latest no later than the first sample.
        return left.time
    slope = (right.time - left.time) / (right.offset - left.offset)
    return right.time - (right.offset - offset) * slope


class LagSource(StrEnum):
    CAUGHT_UP = "caught up"
    MESSAGE = "message"
    INTERPOLATED = "interpolated"
    EXTRAPOLATED = "extrapolated"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class LagSeconds:
    seconds: float | None
    source: LagSource


def lag_seconds(
    points: Sequence[Point], committed: int, end: int, now: float, message_time: float | None
) -> LagSeconds:
    """How long the oldest unconsumed message has waited.

    The timestamp of the message at the committed offset, when it could be read, is a
    measurement and wins. The lookup table's estimate is for the messages that cannot be read
    (removed by retention or compaction, a transaction marker, a read that timed out); it needs
    two samples, so a single `lag` gets it only from `--watch` refreshes."""
    if committed >= end or (points and committed >= points[-1].offset):
        return LagSeconds(0.0, LagSource.CAUGHT_UP)
    if message_time is not None:
        return LagSeconds(max(0.0, now - message_time), LagSource.MESSAGE)
    predicted = predict_time(points, committed)
    if predicted is None:
        return LagSeconds(None, LagSource.UNKNOWN)
    at, extrapolated = predicted
    source = LagSource.EXTRAPOLATED if extrapolated else LagSource.INTERPOLATED
    return LagSeconds(max(0.0, now - at), source)


# --- status (Burrow) --------------------------------------------------------------------------


class Status(StrEnum):
    OK = "OK"
    WARN = "WARN"
    STALL = "STALL"
    STOP = "STOP"
    REWIND = "REWIND"


@dataclass(frozen=True)
class Observation:
    """A commit of the group as seen by a refresh: its offset, the lag then, and when."""

    offset: int
    lag: int
    at: float


@dataclass(frozen=True)
class Rewind:
    before: Observation
    after: Observation


def unrecovered_rewind(window: Sequence[Observation]) -> Rewind | None:
    """The newest drop of the committed offset that the group has not yet read back past."""
    current = window[-1].offset if window else 0
    found = None
    for i, (before, after) in enumerate(pairwise(window), start=1):
        high_water = max(o.offset for o in window[:i])
        if after.offset < before.offset and current < high_water:
            found = Rewind(before, after)
    return found


def is_stopped(window: Sequence[Observation], now: float, live_members: int | None) -> bool:
    """Burrow's rule 3: no commit for longer than the window spans. Burrow infers that from
    commit times alone; the AdminClient also shows membership, and a group without members
    commits nothing, so that counts as stopped too."""
    if live_members == 0:
        return True
    first, last = window[0].at, window[-1].at
    return now - last > last - first


def recent_lag_zero(window: Sequence[Observation], recent_ends: Sequence[int]) -> bool:
    """Burrow's guard against a false STOP: a recent end offset the group had reached."""
    return any(end <= window[-1].offset for end in recent_ends)


def evaluate(
    window: Sequence[Observation],
    current_lag: int,
    now: float,
    recent_ends: Sequence[int] = (),
    live_members: int | None = None,
) -> Status:
    """Burrow's rules over the window, worst first. REWIND is checked before STOP, as in
    Burrow's first order of severity: a replay is applied to a group without members, and its
    rewind is what explains the lag until the group has read back to where it was. STALL and
    WARN are trends, so they need two observations."""
    if current_lag == 0 or not window:
        return Status.OK
    if unrecovered_rewind(window) is not None:
        return Status.REWIND
    if is_stopped(window, now, live_members) and not recent_lag_zero(window, recent_ends):
        return Status.STOP
    if len(window) < 2 or any(o.lag == 0 for o in window):
        return Status.OK
    if all(o.offset == window[0].offset for o in window):
        return Status.STALL
    if all(b.lag >= a.lag for a, b in pairwise(window)):
        return Status.WARN
    return Status.OK


def replay_history(record: ReplayRecord) -> tuple[Observation, Observation]:
    """The two commits a recorded replay made: where the group was, and where it was set."""
    at = record.applied_at.timestamp()
    before = Observation(record.from_offset, record.end_offset - record.from_offset, at - 0.001)
    after = Observation(record.to_offset, record.end_offset - record.to_offset, at)
    return before, after


def with_replays(
    window: Sequence[Observation], replays: Iterable[ReplayRecord], limit: int
) -> tuple[Observation, ...]:
    """The window with the commits of recorded replays merged in by time, so a single refresh
    sees a replay's rewind too. A replay older than a full window is outside it."""
    start = window[0].at if len(window) >= limit else float("-inf")
    extra = [o for r in replays if r.applied_at.timestamp() >= start for o in replay_history(r)]
    return tuple(sorted([*window, *extra], key=lambda o: o.at))


def explained_by_replay(rewind: Rewind, replays: Iterable[ReplayRecord], skew: float) -> bool:
    """A recorded replay set the offset this rewind dropped to, between its two commits (give
    or take `skew` seconds between the clocks of the replay and of this report)."""
    return any(
        r.to_offset <= rewind.after.offset
        and rewind.before.at - skew <= r.applied_at.timestamp() <= rewind.after.at + skew
        for r in replays
    )


# --- the window across refreshes --------------------------------------------------------------


@dataclass(frozen=True)
class PartitionSample:
    """One refresh's reading of one partition a group has committed on."""

    group: str
    topic: str
    partition: int
    committed: int
    end: int
    message_time: float | None  # timestamp of the first message at or after `committed`
    live_members: int

    @property
    def lag(self) -> int:
        return max(0, self.end - self.committed)


@dataclass(frozen=True)
class PartitionHistory:
    observations: tuple[Observation, ...] = ()
    ends: tuple[int, ...] = ()  # recent end offsets, Burrow's broker-offset ring
    points: tuple[Point, ...] = ()  # kafka-lag-exporter's lookup table


def advance(
    history: PartitionHistory, sample: PartitionSample, now: float, window: int, table_size: int
) -> PartitionHistory:
    """Add one refresh. Kafka's offset fetch carries no commit time, so a refresh stands for a
    commit when the offset moved or the group has live members (their clients commit on an
    interval); a group without members commits nothing, and its window stays as it was."""
    observations = history.observations
    moved = not observations or observations[-1].offset != sample.committed
    if moved or sample.live_members > 0:
        observation = Observation(sample.committed, sample.lag, now)
        observations = (*observations, observation)[-window:]
    return PartitionHistory(
        observations,
        (*history.ends, sample.end)[-window:],
        add_point(history.points, Point(sample.end, now), table_size),
    )


@dataclass(frozen=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    committed: int
    end: int
    lag: int
    lag_seconds: float | None
    lag_source: LagSource
    status: Status
    replay: bool  # the REWIND is a recorded replay's
    live_members: int

    @property
    def status_text(self) -> str:
        return f"{self.status} (replay)" if self.replay else str(self.status)


def partition_lag(
    sample: PartitionSample,
    history: PartitionHistory,
    replays: Sequence[ReplayRecord],
    now: float,
    window: int,
    skew: float = 5.0,
) -> PartitionLag:
    observations = with_replays(history.observations, replays, window)
    status = evaluate(observations, sample.lag, now, history.ends, sample.live_members)
    rewind = unrecovered_rewind(observations) if status is Status.REWIND else None
    seconds = lag_seconds(history.points, sample.committed, sample.end, now, sample.message_time)
    return PartitionLag(
        sample.group,
        sample.topic,
        sample.partition,
        sample.committed,
        sample.end,
        sample.lag,
        seconds.seconds,
        seconds.source,
        status,
        rewind is not None and explained_by_replay(rewind, replays, skew),
        sample.live_members,
    )


PartitionKey = tuple[str, str, int]


@dataclass
class LagMonitor:
    """The observation windows of every partition, kept across `--watch` refreshes."""

    window: int = DEFAULT_WINDOW
    table_size: int = DEFAULT_TABLE_SIZE
    histories: dict[PartitionKey, PartitionHistory] = field(default_factory=dict)

    def observe(
        self, samples: Iterable[PartitionSample], replays: Iterable[ReplayRecord], now: float
    ) -> list[PartitionLag]:
        by_key: dict[PartitionKey, list[ReplayRecord]] = {}
        for record in replays:
            by_key.setdefault((record.group, record.topic, record.partition), []).append(record)
        rows = []
        for sample in samples:
            key = (sample.group, sample.topic, sample.partition)
            history = self.histories.get(key, PartitionHistory())
            history = advance(history, sample, now, self.window, self.table_size)
            self.histories[key] = history
            rows.append(partition_lag(sample, history, by_key.get(key, []), now, self.window))
        return sorted(rows, key=lambda r: (r.group, r.topic, r.partition))


# --- freshness and the report -----------------------------------------------------------------

FreshnessReader = Callable[[], Mapping[str, datetime]]


@dataclass(frozen=True)
class TenantFreshness:
    tenant: str
    newest_commit_at: datetime  # the newest Salesforce commit already applied to the store
    age_seconds: float


def freshness_rows(newest: Mapping[str, datetime], now: float) -> list[TenantFreshness]:
    return [
        TenantFreshness(tenant, at, max(0.0, now - at.timestamp()))
        for tenant, at in sorted(newest.items())
    ]


@dataclass(frozen=True)
class LagReport:
    at: float
    partitions: list[PartitionLag]
    freshness: list[TenantFreshness] | None  # None: no freshness callable was given
    freshness_error: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "at": datetime.fromtimestamp(self.at, tz=UTC).isoformat(),
            "partitions": [_partition_json(p) for p in self.partitions],
            "freshness": None
            if self.freshness is None
            else [
                {
                    "tenant": f.tenant,
                    "newest_commit_at": f.newest_commit_at.isoformat(),
                    "age_seconds": round(f.age_seconds, 3),
                }
                for f in self.freshness
            ],
            "freshness_error": self.freshness_error,
        }


def _partition_json(p: PartitionLag) -> dict[str, object]:
    return {
        "group": p.group,
        "topic": p.topic,
        "partition": p.partition,
        "committed": p.committed,
        "end": p.end,
        "lag": p.lag,
        "lag_seconds": None if p.lag_seconds is None else round(p.lag_seconds, 3),
        "lag_seconds_source": str(p.lag_source),
        "status": p.status_text,
        "live_members": p.live_members,
    }


def freshness_section(
    reader: FreshnessReader | None, now: float
) -> tuple[list[TenantFreshness] | None, str | None]:
    if reader is None:
        return None, None
    try:
        return freshness_rows(reader(), now), None
    except FreshnessUnavailableError as e:
        log.debug("freshness unavailable", error=str(e))
        return [], str(e)
