"""The dashboard's series as pure logic: the bounded ring, the aggregation of a report's
partitions per (group, topic), the worst status, idle series dropped, and the JSON the page
reads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.kafka.lag import LagReport, LagSource, PartitionLag, Status, TenantFreshness
from connectors.monitoring.history import (
    FreshnessPoint,
    LagPoint,
    SeriesHistory,
    aggregate_lag,
    append_bounded,
    drop_idle,
    series_json,
    worst_status,
)


def a_partition(
    group: str = "sink",
    topic: str = "gather.accounts",
    partition: int = 0,
    lag: int = 0,
    seconds: float | None = 0.0,
    status: Status = Status.OK,
) -> PartitionLag:
    return PartitionLag(
        group, topic, partition, 100, 100 + lag, lag, seconds, LagSource.MESSAGE, status, False, 1
    )


def a_report(
    at: float, partitions: list[PartitionLag], freshness: dict[str, float] | None = None
) -> LagReport:
    rows = [
        TenantFreshness(tenant, datetime.fromtimestamp(at - age, tz=UTC), age)
        for tenant, age in (freshness or {}).items()
    ]
    return LagReport(at, partitions, rows)


def points(*times: float) -> tuple[FreshnessPoint, ...]:
    return tuple(FreshnessPoint(t, t / 10) for t in times)


# --- the ring ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ring", "at", "capacity", "expected"),
    [
        pytest.param((), 1.0, 3, (1.0,), id="first point"),
        pytest.param((1.0, 2.0), 3.0, 3, (1.0, 2.0, 3.0), id="a newer point is added"),
        pytest.param((1.0, 2.0, 3.0), 4.0, 3, (2.0, 3.0, 4.0), id="full: the oldest falls off"),
        pytest.param((1.0, 2.0), 2.0, 3, (1.0, 2.0), id="same time: ignored"),
        pytest.param((1.0, 5.0), 3.0, 3, (1.0, 5.0), id="older time (clock stepped back): ignored"),
        pytest.param((1.0,), 2.0, 1, (2.0,), id="capacity one keeps the newest"),
        pytest.param((1.0,), 2.0, 0, (), id="capacity zero keeps nothing"),
    ],
)
def test_given_a_ring_when_a_point_is_appended_then_it_stays_bounded_and_in_time_order(
    ring: tuple[float, ...], at: float, capacity: int, expected: tuple[float, ...]
) -> None:
    result = append_bounded(points(*ring), FreshnessPoint(at, at / 10), capacity)

    assert tuple(p.at for p in result) == expected


def test_given_many_points_when_appended_one_by_one_then_the_ring_holds_the_newest_capacity() -> (
    None
):
    ring: tuple[FreshnessPoint, ...] = ()
    for t in range(1, 1001):
        ring = append_bounded(ring, FreshnessPoint(float(t), 0.0), 900)

    assert len(ring) == 900
    assert (ring[0].at, ring[-1].at) == (101.0, 1000.0)


# --- aggregation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        pytest.param([], Status.OK, id="nothing: OK"),
        pytest.param([Status.OK, Status.OK], Status.OK, id="all OK"),
        pytest.param([Status.OK, Status.WARN], Status.WARN, id="WARN over OK"),
        pytest.param([Status.WARN, Status.REWIND], Status.REWIND, id="REWIND over WARN"),
        pytest.param([Status.STALL, Status.REWIND], Status.STALL, id="STALL over REWIND"),
        pytest.param([Status.STALL, Status.STOP, Status.OK], Status.STOP, id="STOP is the worst"),
    ],
)
def test_given_partition_statuses_when_combined_then_the_worst_wins(
    statuses: list[Status], expected: Status
) -> None:
    assert worst_status(statuses) is expected


@pytest.mark.parametrize(
    ("partitions", "expected"),
    [
        pytest.param([], {}, id="no partitions: no point"),
        pytest.param(
            [a_partition(lag=3, seconds=1.5)],
            {("sink", "gather.accounts"): LagPoint(10.0, 3, 1.5, Status.OK)},
            id="one partition as it is",
        ),
        pytest.param(
            [
                a_partition(partition=0, lag=3, seconds=1.5, status=Status.OK),
                a_partition(partition=1, lag=7, seconds=4.0, status=Status.WARN),
                a_partition(partition=2, lag=0, seconds=0.0, status=Status.OK),
            ],
            {("sink", "gather.accounts"): LagPoint(10.0, 10, 4.0, Status.WARN)},
            id="messages summed, worst seconds, worst status",
        ),
        pytest.param(
            [a_partition(lag=5, seconds=None), a_partition(partition=1, lag=2, seconds=None)],
            {("sink", "gather.accounts"): LagPoint(10.0, 7, None, Status.OK)},
            id="no partition's seconds known: None",
        ),
        pytest.param(
            [a_partition(lag=5, seconds=None), a_partition(partition=1, lag=2, seconds=8.0)],
            {("sink", "gather.accounts"): LagPoint(10.0, 7, 8.0, Status.OK)},
            id="the known seconds count",
        ),
        pytest.param(
            [
                a_partition(group="worker", topic="sf.changes", lag=4, seconds=2.0),
                a_partition(group="worker", topic="sf.deals", lag=1, seconds=1.0),
                a_partition(group="sink", topic="gather.users", lag=9, status=Status.STOP),
            ],
            {
                ("worker", "sf.changes"): LagPoint(10.0, 4, 2.0, Status.OK),
                ("worker", "sf.deals"): LagPoint(10.0, 1, 1.0, Status.OK),
                ("sink", "gather.users"): LagPoint(10.0, 9, 0.0, Status.STOP),
            },
            id="one point per group and topic",
        ),
    ],
)
def test_given_a_reports_partitions_when_aggregated_then_one_point_per_group_and_topic(
    partitions: list[PartitionLag], expected: dict[tuple[str, str], LagPoint]
) -> None:
    assert aggregate_lag(partitions, 10.0) == expected


@pytest.mark.parametrize(
    ("series", "now", "expected"),
    [
        pytest.param({"a": points(10.0)}, 20.0, {"a"}, id="recent: kept"),
        pytest.param({"a": points(10.0)}, 40.0, {"a"}, id="exactly idle: kept"),
        pytest.param({"a": points(5.0), "b": points(39.0)}, 40.0, {"b"}, id="idle: dropped"),
        pytest.param({"a": ()}, 10.0, set(), id="empty: dropped"),
    ],
)
def test_given_series_when_idle_ones_are_dropped_then_only_recent_series_remain(
    series: dict[str, tuple[FreshnessPoint, ...]], now: float, expected: set[str]
) -> None:
    assert set(drop_idle(series, now, idle=30.0)) == expected


# --- the history across reports ---------------------------------------------------------------


def test_given_reports_when_recorded_then_each_series_grows_by_one_point_a_report() -> None:
    history = SeriesHistory(capacity=10)
    for at in (100.0, 102.0, 104.0):
        history.record(
            a_report(
                at,
                [a_partition(lag=int(at) - 100, seconds=1.0)],
                freshness={"acme": at - 99.0},
            )
        )

    assert [p.messages for p in history.lag[("sink", "gather.accounts")]] == [0, 2, 4]
    assert [p.age_seconds for p in history.freshness["acme"]] == [1.0, 3.0, 5.0]


def test_given_more_reports_than_capacity_when_recorded_then_the_series_keep_the_newest() -> None:
    history = SeriesHistory(capacity=3)
    for at in range(10):
        history.record(a_report(float(at), [a_partition(lag=at)], freshness={"acme": 1.0}))

    assert [p.at for p in history.lag[("sink", "gather.accounts")]] == [7.0, 8.0, 9.0]
    assert len(history.freshness["acme"]) == 3


def test_given_a_group_that_went_away_when_it_stays_idle_then_its_series_is_dropped() -> None:
    history = SeriesHistory(capacity=10, idle=5.0)
    history.record(a_report(0.0, [a_partition(group="old"), a_partition(group="live")]))
    history.record(a_report(3.0, [a_partition(group="live")]))
    assert set(history.lag) == {("old", "gather.accounts"), ("live", "gather.accounts")}

    history.record(a_report(6.0, [a_partition(group="live")]))

    assert set(history.lag) == {("live", "gather.accounts")}


def test_given_a_failed_sample_when_the_next_report_is_recorded_then_the_error_is_cleared() -> None:
    history = SeriesHistory()
    history.record_error("cannot list consumer groups: broker down")
    assert series_json(history)["error"] == "cannot list consumer groups: broker down"

    history.record(a_report(1.0, []))

    assert series_json(history)["error"] is None


def test_given_a_history_when_serialised_then_groups_hold_topics_with_rows_and_a_worst_status() -> (
    None
):
    history = SeriesHistory()
    history.record(
        a_report(
            100.0,
            [
                a_partition(group="worker", topic="sf.changes", lag=2, seconds=1.25),
                a_partition(group="worker", topic="sf.deals", lag=1, status=Status.WARN),
                a_partition(group="sink", topic="gather.users", lag=0, seconds=None),
            ],
            freshness={"acme": 4.5},
        )
    )

    data = series_json(history)

    assert data["at"] == 100.0
    assert data["groups"] == [
        {
            "group": "sink",
            "status": "OK",
            "topics": [{"topic": "gather.users", "points": [[100.0, 0, None, "OK"]]}],
        },
        {
            "group": "worker",
            "status": "WARN",
            "topics": [
                {"topic": "sf.changes", "points": [[100.0, 2, 1.25, "OK"]]},
                {"topic": "sf.deals", "points": [[100.0, 1, 0.0, "WARN"]]},
            ],
        },
    ]
    assert data["tenants"] == [{"tenant": "acme", "points": [[100.0, 4.5]]}]
    assert data["lag_columns"] == ["at", "messages", "seconds", "status"]


def test_given_no_report_yet_when_serialised_then_the_page_gets_empty_lists() -> None:
    data = series_json(SeriesHistory())

    assert (data["at"], data["groups"], data["tenants"], data["error"]) == (None, [], [], None)
