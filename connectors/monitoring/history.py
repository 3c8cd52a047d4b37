"""Lag and freshness over time, for the dashboard.

A sampler takes a lag report (connectors/kafka/lag_collector.py) every few seconds, through one
`LagMonitor`, so the statuses judge a window of refreshes as `gather-sync lag --watch` does.
Each report becomes one point per (group, topic): the lag in messages summed over the partitions,
the worst lag in seconds and the worst status; and one point per tenant: the age of the newest
Salesforce commit applied to the store. Each series is a bounded ring of points.

Everything above the I/O section is pure; times are seconds since the epoch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import structlog
from confluent_kafka import KafkaException

from connectors.kafka.errors import KafkaLayerError, LagCollectionError
from connectors.kafka.lag import (
    FreshnessReader,
    LagMonitor,
    LagReport,
    PartitionLag,
    Status,
    TenantFreshness,
    freshness_section,
)
from connectors.kafka.lag_collector import LagCollector, LagFilter, lag_report

log = structlog.get_logger(__name__)

# 30 minutes at the default 2 s interval.
DEFAULT_CAPACITY = 900
# A series not refreshed for this long (its group deleted, its tenant removed) is dropped.
DEFAULT_IDLE = 3600.0

LagKey = tuple[str, str]  # (group, topic)
T = TypeVar("T", bound="LagPoint | FreshnessPoint")
K = TypeVar("K")

# Worst last. A rewind is usually an operator's replay and explains its lag; a stall (commits
# that do not move) and a stop (no commits at all) need someone to look.
SEVERITY: dict[Status, int] = {
    Status.OK: 0,
    Status.WARN: 1,
    Status.REWIND: 2,
    Status.STALL: 3,
    Status.STOP: 4,
}


# --- points and rings -------------------------------------------------------------------------


@dataclass(frozen=True)
class LagPoint:
    at: float
    messages: int  # summed over the partitions
    seconds: float | None  # the worst partition's; None while no partition's is known
    status: Status  # the worst partition's


@dataclass(frozen=True)
class FreshnessPoint:
    at: float
    age_seconds: float


def append_bounded(points: tuple[T, ...], point: T, capacity: int) -> tuple[T, ...]:
    """A ring of at most `capacity` points in time order: a point not newer than the last is
    ignored (a clock that stepped back), the oldest falls off past the capacity."""
    if points and point.at <= points[-1].at:
        return points
    return (*points, point)[-capacity:] if capacity > 0 else ()


def worst_status(statuses: Iterable[Status]) -> Status:
    return max(statuses, key=SEVERITY.__getitem__, default=Status.OK)


def aggregate_lag(partitions: Iterable[PartitionLag], at: float) -> dict[LagKey, LagPoint]:
    """One point per (group, topic) from a report's partition rows."""
    by_key: dict[LagKey, list[PartitionLag]] = {}
    for row in partitions:
        by_key.setdefault((row.group, row.topic), []).append(row)
    return {key: _lag_point(rows, at) for key, rows in by_key.items()}


def _lag_point(rows: Sequence[PartitionLag], at: float) -> LagPoint:
    known = [r.lag_seconds for r in rows if r.lag_seconds is not None]
    return LagPoint(
        at,
        sum(r.lag for r in rows),
        max(known) if known else None,
        worst_status(r.status for r in rows),
    )


def freshness_points(rows: Iterable[TenantFreshness], at: float) -> dict[str, FreshnessPoint]:
    return {row.tenant: FreshnessPoint(at, row.age_seconds) for row in rows}


def drop_idle(series: dict[K, tuple[T, ...]], now: float, idle: float) -> dict[K, tuple[T, ...]]:
    """The series whose newest point is at most `idle` seconds old."""
    return {k: points for k, points in series.items() if points and now - points[-1].at <= idle}


# --- the series of every group and tenant -----------------------------------------------------


@dataclass
class SeriesHistory:
    """Every series, advanced by one report at a time. Not thread-safe: one owner records."""

    capacity: int = DEFAULT_CAPACITY
    idle: float = DEFAULT_IDLE
    lag: dict[LagKey, tuple[LagPoint, ...]] = field(default_factory=dict)
    freshness: dict[str, tuple[FreshnessPoint, ...]] = field(default_factory=dict)
    latest: LagReport | None = None
    error: str | None = None  # why the last sample failed; cleared by the next report

    def record(self, report: LagReport) -> None:
        for key, point in aggregate_lag(report.partitions, report.at).items():
            self.lag[key] = append_bounded(self.lag.get(key, ()), point, self.capacity)
        for tenant, age in freshness_points(report.freshness or (), report.at).items():
            self.freshness[tenant] = append_bounded(
                self.freshness.get(tenant, ()), age, self.capacity
            )
        self.lag = drop_idle(self.lag, report.at, self.idle)
        self.freshness = drop_idle(self.freshness, report.at, self.idle)
        self.latest, self.error = report, None

    def record_error(self, error: str) -> None:
        self.error = error

    def groups(self) -> dict[str, dict[str, tuple[LagPoint, ...]]]:
        """group -> topic -> points, both sorted."""
        grouped: dict[str, dict[str, tuple[LagPoint, ...]]] = {}
        for (group, topic), points in sorted(self.lag.items()):
            grouped.setdefault(group, {})[topic] = points
        return grouped


LAG_COLUMNS = ("at", "messages", "seconds", "status")
FRESHNESS_COLUMNS = ("at", "age_seconds")


def series_json(history: SeriesHistory) -> dict[str, object]:
    """What `/api/series` serves: points as rows of the named columns, oldest first."""
    latest = history.latest
    return {
        "at": None if latest is None else round(latest.at, 3),
        "error": history.error,
        "freshness_error": None if latest is None else latest.freshness_error,
        "lag_columns": list(LAG_COLUMNS),
        "freshness_columns": list(FRESHNESS_COLUMNS),
        "groups": [_group_json(g, topics) for g, topics in history.groups().items()],
        "tenants": [
            {"tenant": tenant, "points": [[round(p.at, 3), round(p.age_seconds, 3)] for p in ps]}
            for tenant, ps in sorted(history.freshness.items())
        ],
    }


def _group_json(group: str, topics: dict[str, tuple[LagPoint, ...]]) -> dict[str, object]:
    return {
        "group": group,
        "status": str(worst_status(points[-1].status for points in topics.values())),
        "topics": [
            {"topic": topic, "points": [_lag_row(p) for p in points]}
            for topic, points in topics.items()
        ],
    }


def _lag_row(p: LagPoint) -> list[object]:
    seconds = None if p.seconds is None else round(p.seconds, 3)
    return [round(p.at, 3), p.messages, seconds, str(p.status)]


# --- I/O: sampling the cluster and the store --------------------------------------------------

Clock = Callable[[], float]
AsyncSleep = Callable[[float], Awaitable[None]]


def matching_groups(collector: LagCollector, prefixes: Sequence[str]) -> list[str]:
    """The consumer groups whose id starts with one of the prefixes."""
    try:
        future = collector.admin.list_consumer_groups(request_timeout=collector.timeout)
        listing = future.result()
    except KafkaException as e:
        raise LagCollectionError(f"cannot list consumer groups: {e}") from e
    return sorted(g.group_id for g in listing.valid if g.group_id.startswith(tuple(prefixes)))


@dataclass
class Sampler:
    """Takes a lag report every `interval` seconds into the history. One `LagMonitor` across
    samples gives each partition's status its window. The blocking reads run in a thread; the
    history is only touched on the event loop."""

    collector: LagCollector
    history: SeriesHistory
    clock: Clock
    freshness: FreshnessReader | None = None
    prefixes: tuple[str, ...] = ()  # empty: every group of the cluster
    monitor: LagMonitor = field(default_factory=LagMonitor)

    def sample(self) -> LagReport:
        now = self.clock()
        only = LagFilter()
        if self.prefixes:
            groups = matching_groups(self.collector, self.prefixes)
            if not groups:  # an empty filter would mean every group
                return LagReport(now, [], *freshness_section(self.freshness, now))
            only = LagFilter(tuple(groups))
        return lag_report(self.collector, self.monitor, now, only, self.freshness)

    async def sample_once(self) -> None:
        try:
            report = await asyncio.to_thread(self.sample)
        except KafkaLayerError as e:
            log.warning("dashboard sample failed", error=str(e))
            self.history.record_error(str(e))
            return
        self.history.record(report)
        log.debug("dashboard sample", partitions=len(report.partitions), at=report.at)

    async def run(self, stop: asyncio.Event, interval: float, sleep: AsyncSleep) -> None:
        while not stop.is_set():
            await self.sample_once()
            await sleep(interval)
