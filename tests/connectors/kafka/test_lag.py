"""Lag in seconds (kafka-lag-exporter's lookup table), Burrow's status rules and the window kept
across refreshes: pure functions, table-tested, with an injected clock. The collector that reads
the broker is tested in test_lag_collector.py."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.kafka.errors import FreshnessUnavailableError
from connectors.kafka.lag import (
    LagMonitor,
    LagSource,
    Observation,
    PartitionSample,
    Point,
    Status,
    add_point,
    evaluate,
    explained_by_replay,
    freshness_section,
    lag_seconds,
    predict_time,
    unrecovered_rewind,
    with_replays,
)
from connectors.kafka.replay import ReplayRecord

REPOSITORY = Path(__file__).resolve().parents[3]
T0 = 1_800_000_000.0  # a fixed "now" origin: every test passes its clock in


# --- builders ---------------------------------------------------------------------------------


def a_table(*pairs: tuple[int, float]) -> tuple[Point, ...]:
    return tuple(Point(offset, T0 + at) for offset, at in pairs)


def a_window(*triples: tuple[int, int, float]) -> tuple[Observation, ...]:
    """(committed offset, lag, seconds after T0) per commit."""
    return tuple(Observation(offset, lag, T0 + at) for offset, lag, at in triples)


def a_sample(**overrides: Any) -> PartitionSample:
    values: dict[str, Any] = {
        "group": "sink",
        "topic": "gather.accounts",
        "partition": 0,
        "committed": 100,
        "end": 100,
        "message_time": None,
        "live_members": 1,
    }
    return PartitionSample(**(values | overrides))


def a_replay(**overrides: Any) -> ReplayRecord:
    values: dict[str, Any] = {
        "group": "sink",
        "topic": "gather.accounts",
        "partition": 0,
        "from_offset": 100,
        "to_offset": 40,
        "end_offset": 100,
        "applied_at": datetime.fromtimestamp(T0 + 30, tz=UTC),
    }
    return ReplayRecord(**(values | overrides))


# --- the lookup table -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "point", "expected"),
    [
        pytest.param((), (10, 1), ((10, 1),), id="first sample"),
        pytest.param(((10, 1),), (20, 2), ((10, 1), (20, 2)), id="a newer sample is added"),
        pytest.param(((10, 5),), (20, 5), ((10, 5),), id="same time: ignored"),
        pytest.param(((10, 5),), (20, 4), ((10, 5),), id="older time: ignored"),
        pytest.param(((20, 1),), (10, 2), ((20, 1),), id="offset went back: ignored"),
        pytest.param(
            ((10, 1), (10, 2)), (10, 3), ((10, 1), (10, 3)), id="a flat run keeps its two ends"
        ),
        pytest.param(((5, 0), (10, 1)), (10, 2), ((5, 0), (10, 1), (10, 2)), id="a flat start"),
        pytest.param(((1, 1), (2, 2), (3, 3)), (4, 4), ((2, 2), (3, 3), (4, 4)), id="limit 3"),
    ],
)
def test_given_a_table_when_a_sample_is_added_then_it_follows_kafka_lag_exporter(
    table: tuple[tuple[int, float], ...],
    point: tuple[int, float],
    expected: tuple[tuple[int, float], ...],
) -> None:
    assert add_point(a_table(*table), Point(point[0], T0 + point[1]), limit=3) == a_table(*expected)


@pytest.mark.parametrize(
    ("table", "offset", "expected"),
    [
        pytest.param(((100, 10),), 50, None, id="one sample: too few points"),
        pytest.param(((100, 10), (200, 20)), 150, (15.0, False), id="interpolated in a segment"),
        pytest.param(
            ((0, 0), (100, 10), (200, 30)), 150, (20.0, False), id="the segment that holds it"
        ),
        pytest.param(((100, 10), (200, 20)), 50, (5.0, True), id="extrapolated before the table"),
        pytest.param(((100, 10), (100, 20)), 50, (10.0, True), id="a flat table: its first time"),
        pytest.param(
            ((0, 0), (100, 10), (100, 40), (200, 50)),
            100,
            (40.0, False),
            id="on a flat run: its last time",
        ),
    ],
)
def test_given_samples_when_an_offset_is_looked_up_then_its_time_is_interpolated(
    table: tuple[tuple[int, float], ...], offset: int, expected: tuple[float, bool] | None
) -> None:
    predicted = predict_time(a_table(*table), offset)

    if expected is None:
        assert predicted is None
    else:
        assert predicted is not None
        assert predicted[0] == pytest.approx(T0 + expected[0]) and predicted[1] is expected[1]


@pytest.mark.parametrize(
    ("committed", "end", "message_at", "expected_seconds", "expected_source"),
    [
        pytest.param(200, 200, None, 0.0, LagSource.CAUGHT_UP, id="caught up"),
        pytest.param(150, 200, 12.0, 48.0, LagSource.MESSAGE, id="the message's time wins"),
        pytest.param(150, 200, 75.0, 0.0, LagSource.MESSAGE, id="a future timestamp: zero"),
        pytest.param(150, 200, None, 45.0, LagSource.INTERPOLATED, id="unreadable: interpolated"),
        pytest.param(50, 200, None, 55.0, LagSource.EXTRAPOLATED, id="before the table"),
    ],
)
def test_given_a_committed_offset_when_lag_seconds_are_computed_then_the_source_is_named(
    committed: int,
    end: int,
    message_at: float | None,
    expected_seconds: float,
    expected_source: LagSource,
) -> None:
    table = a_table((100, 10), (200, 20))
    message_time = None if message_at is None else T0 + message_at

    lag = lag_seconds(table, committed, end, now=T0 + 60, message_time=message_time)

    assert lag.seconds == pytest.approx(expected_seconds)
    assert lag.source is expected_source


def test_given_one_sample_and_no_message_when_lag_seconds_are_computed_then_unknown() -> None:
    lag = lag_seconds(a_table((200, 10)), 150, 200, now=T0 + 60, message_time=None)

    assert lag.seconds is None and lag.source is LagSource.UNKNOWN


# Samples as a refresh loop takes them: time always moves on, the end offset never goes back.
_samples = st.lists(
    st.tuples(st.integers(0, 1_000), st.integers(1, 60_000)), min_size=2, max_size=40
).map(
    lambda steps: [
        Point(sum(s[0] for s in steps[: i + 1]), T0 + sum(s[1] for s in steps[: i + 1]) / 1000)
        for i in range(len(steps))
    ]
)


def _table(samples: list[Point], limit: int) -> tuple[Point, ...]:
    table: tuple[Point, ...] = ()
    for point in samples:
        table = add_point(table, point, limit)
    return table


@given(_samples, st.integers(2, 10), st.data())
def test_given_any_table_then_the_interpolated_time_is_monotonic_in_the_offset(
    samples: list[Point], limit: int, data: st.DataObject
) -> None:
    table = _table(samples, limit)
    if len(table) < 2 or table[-1].offset == 0:
        return
    low = data.draw(st.integers(0, table[-1].offset - 1))
    high = data.draw(st.integers(low, table[-1].offset - 1))

    earlier, later = predict_time(table, low), predict_time(table, high)

    assert earlier is not None and later is not None
    assert earlier[0] <= later[0] + 1e-5


@given(_samples, st.data())
def test_given_any_table_then_lag_seconds_never_grow_as_the_group_reads_on(
    samples: list[Point], data: st.DataObject
) -> None:
    table = _table(samples, 60)
    end, now = table[-1].offset, table[-1].time + 1
    low = data.draw(st.integers(0, end))
    high = data.draw(st.integers(low, end))

    behind = lag_seconds(table, low, end, now, None).seconds
    ahead = lag_seconds(table, high, end, now, None).seconds

    assert behind is not None and ahead is not None
    assert ahead <= behind + 1e-5
    assert lag_seconds(table, end, end, now, None).seconds == 0.0


# --- Burrow's rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("window", "current_lag", "now", "ends", "members", "expected"),
    [
        pytest.param(a_window((10, 5, 0), (12, 6, 10)), 0, 20, (), 1, Status.OK, id="no lag: OK"),
        pytest.param(
            a_window((10, 0, 0), (20, 5, 10), (30, 8, 20)),
            8,
            25,
            (),
            1,
            Status.OK,
            id="lag was zero in the window: OK",
        ),
        pytest.param(
            a_window((10, 9, 0), (20, 6, 10), (30, 7, 20)),
            7,
            25,
            (),
            1,
            Status.OK,
            id="moving, lag went down somewhere: OK",
        ),
        pytest.param(
            a_window((10, 5, 0), (20, 6, 10), (30, 8, 20)),
            8,
            25,
            (),
            1,
            Status.WARN,
            id="moving but lag increasing across the window: WARN",
        ),
        pytest.param(
            a_window((10, 5, 0), (10, 6, 10), (10, 8, 20)),
            8,
            25,
            (),
            1,
            Status.STALL,
            id="committing the same offset with lag: STALL",
        ),
        pytest.param(
            a_window((10, 5, 0), (20, 6, 10), (30, 8, 20)),
            8,
            41,
            (),
            1,
            Status.STOP,
            id="no commit for longer than the window: STOP",
        ),
        pytest.param(
            a_window((30, 5, 0)),
            5,
            0,
            (35,),
            0,
            Status.STOP,
            id="no live members and lag: STOP",
        ),
        pytest.param(
            a_window((30, 0, 0)),
            5,
            50,
            (30, 35),
            0,
            Status.OK,
            id="recently caught up: not yet STOP (Burrow's broker-offset ring)",
        ),
        pytest.param(
            a_window((10, 0, 0), (20, 0, 10), (30, 0, 20), (20, 10, 30)),
            10,
            35,
            (),
            1,
            Status.REWIND,
            id="went back after zero lag (Burrow #714): REWIND",
        ),
        pytest.param(
            a_window((20, 0, 10), (30, 0, 20), (20, 10, 30), (30, 15, 40)),
            15,
            45,
            (),
            1,
            Status.OK,
            id="read back past where it was: recovered",
        ),
        pytest.param(
            a_window((30, 5, 0)), 5, 0, (35,), 1, Status.OK, id="one observation: no trend yet"
        ),
    ],
)
def test_given_a_window_when_evaluated_then_burrows_rules_decide(
    window: tuple[Observation, ...],
    current_lag: int,
    now: float,
    ends: tuple[int, ...],
    members: int,
    expected: Status,
) -> None:
    assert evaluate(window, current_lag, T0 + now, ends, members) is expected


def test_given_two_rewinds_when_looked_for_then_the_newest_unrecovered_one_is_found() -> None:
    window = a_window((50, 1, 0), (10, 41, 10), (60, 1, 20), (30, 40, 30), (40, 30, 40))

    rewind = unrecovered_rewind(window)

    assert rewind is not None and (rewind.before.offset, rewind.after.offset) == (60, 30)


# --- replays in the window --------------------------------------------------------------------


def test_given_a_recorded_replay_when_merged_then_one_refresh_sees_its_rewind() -> None:
    window = with_replays(a_window((45, 55, 60)), [a_replay()], limit=10)

    rewind = unrecovered_rewind(window)

    assert [o.offset for o in window] == [100, 40, 45]
    assert rewind is not None and explained_by_replay(rewind, [a_replay()], skew=5)


def test_given_a_replay_older_than_a_full_window_when_merged_then_it_is_left_out() -> None:
    full = a_window(*[(40 + i, 10, 100 + i) for i in range(3)])

    assert with_replays(full, [a_replay()], limit=3) == full


@pytest.mark.parametrize(
    ("replay", "expected"),
    [
        pytest.param(a_replay(), True, id="applied between the two commits"),
        pytest.param(
            a_replay(applied_at=datetime.fromtimestamp(T0 + 500, tz=UTC)),
            False,
            id="applied long after",
        ),
        pytest.param(a_replay(to_offset=60), False, id="set a later offset than the drop"),
    ],
)
def test_given_a_rewind_when_a_replay_is_looked_for_then_time_and_offset_must_match(
    replay: ReplayRecord, expected: bool
) -> None:
    rewind = unrecovered_rewind(a_window((100, 0, 20), (45, 55, 40)))

    assert rewind is not None
    assert explained_by_replay(rewind, [replay], skew=5) is expected


# --- the monitor across refreshes -------------------------------------------------------------


def test_given_an_empty_group_falling_behind_when_refreshed_then_lag_grows_and_it_stops() -> None:
    monitor = LagMonitor(window=3)
    caught_up = monitor.observe([a_sample(live_members=0)], [], now=T0)
    statuses = [
        monitor.observe([a_sample(end=110 + i, live_members=0)], [], now=T0 + 10 * (i + 1))[0]
        for i in range(4)
    ]

    assert caught_up[0].lag == 0 and caught_up[0].status is Status.OK
    assert [s.lag for s in statuses] == [10, 11, 12, 13]
    assert [s.status for s in statuses] == [Status.OK, Status.OK, Status.STOP, Status.STOP]
    assert statuses[-1].lag_seconds == pytest.approx(40.0)  # 100 was the end offset at T0
    assert statuses[-1].lag_source is LagSource.INTERPOLATED


def test_given_a_live_member_not_moving_when_refreshed_then_it_stalls() -> None:
    monitor = LagMonitor(window=3)
    rows = [
        monitor.observe([a_sample(end=150 + i)], [], now=T0 + 10 * i)[0].status for i in range(3)
    ]

    assert rows == [Status.OK, Status.STALL, Status.STALL]


def test_given_a_live_member_slower_than_producers_when_refreshed_then_it_warns() -> None:
    monitor = LagMonitor(window=3)
    rows = [
        monitor.observe([a_sample(committed=100 + 5 * i, end=110 + 10 * i)], [], T0 + 10 * i)[0]
        for i in range(3)
    ]

    assert [r.lag for r in rows] == [10, 15, 20]
    assert [r.status for r in rows] == [Status.OK, Status.WARN, Status.WARN]


def test_given_a_replay_when_refreshed_then_the_rewind_is_shown_as_a_replay() -> None:
    monitor = LagMonitor(window=5)
    monitor.observe([a_sample(live_members=0)], [], now=T0)
    after = monitor.observe([a_sample(committed=40, live_members=0)], [a_replay()], now=T0 + 60)

    assert after[0].status is Status.REWIND and after[0].status_text == "REWIND (replay)"


def test_given_a_rewind_no_replay_explains_when_refreshed_then_it_is_a_bare_rewind() -> None:
    monitor = LagMonitor(window=5)
    monitor.observe([a_sample()], [], now=T0)
    after = monitor.observe([a_sample(committed=40)], [], now=T0 + 60)

    assert after[0].status_text == "REWIND"


# --- freshness --------------------------------------------------------------------------------


def test_given_a_freshness_reader_when_reported_then_each_tenant_has_its_age() -> None:
    newest = {
        "beta": datetime.fromtimestamp(T0 - 90, tz=UTC),
        "acme": datetime.fromtimestamp(T0 - 5, tz=UTC),
    }

    rows, error = freshness_section(lambda: newest, now=T0)

    assert error is None and rows is not None
    assert [(r.tenant, r.age_seconds) for r in rows] == [("acme", 5.0), ("beta", 90.0)]


def test_given_an_unreadable_store_when_reported_then_freshness_says_why() -> None:
    def unreadable() -> dict[str, datetime]:
        raise FreshnessUnavailableError("no such table: freshness; run `gather-sync db migrate`")

    rows, error = freshness_section(unreadable, now=T0)

    assert rows == [] and error is not None and "db migrate" in error


# --- the module's bounds ----------------------------------------------------------------------


def test_given_a_new_interpreter_when_lag_is_imported_then_no_kafka_client_is_loaded() -> None:
    probe = "import sys, connectors.kafka.lag; print('confluent_kafka' in sys.modules)"

    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert done.stdout.strip() == "False"
