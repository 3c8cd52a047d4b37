"""The health contract: checks, heartbeats, delivery tracking, and the reports they make."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.telemetry.health import (
    Deliveries,
    GroupWatch,
    Health,
    Heartbeat,
    Verdict,
    evaluate,
    succeeds,
)
from connectors.telemetry.metrics import MetricsSettings, serve


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


EMPTY = Verdict.failed("no checks")


def body(report_bytes: bytes) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(report_bytes)
    return document


# --- reports -----------------------------------------------------------------------------------


@given(st.dictionaries(st.text(min_size=1, max_size=8), st.booleans(), min_size=1))
def test_given_any_checks_then_the_report_is_ok_exactly_when_every_check_passed(
    outcomes: dict[str, bool],
) -> None:
    checks = {name: (lambda ok=ok: Verdict(ok, "why")) for name, ok in outcomes.items()}

    report = evaluate(checks, Verdict.failed("empty"))

    assert report.ok is all(outcomes.values())
    assert report.status == (200 if all(outcomes.values()) else 503)
    assert set(body(report.body())["failed"]) == {n for n, ok in outcomes.items() if not ok}


def test_given_a_check_that_raises_when_evaluated_then_it_fails_with_the_error_as_reason() -> None:
    def broken() -> Verdict:
        raise RuntimeError("Consumer closed")

    report = evaluate({"consumer": broken, "loop": lambda: Verdict.passed("turning")}, EMPTY)

    assert not report.ok
    assert body(report.body())["failed"] == {"consumer": "RuntimeError: Consumer closed"}
    assert body(report.body())["checks"]["loop"] == {"ok": True, "reason": "turning"}


def test_given_details_when_reported_then_they_are_in_the_check_s_json() -> None:
    tenants = {"acme": {"state": "subscribed"}}
    report = evaluate({"tenants": lambda: Verdict.passed("all", tenants=tenants)}, EMPTY)

    assert body(report.body())["checks"]["tenants"]["tenants"] == tenants


def test_given_succeeds_when_the_probe_raises_then_failed_else_passed() -> None:
    def refused() -> None:
        raise ConnectionRefusedError("connection refused")

    assert succeeds(lambda: None, "reachable")() == Verdict.passed("reachable")
    assert evaluate({"database": succeeds(refused, "reachable")}, EMPTY).checks[
        "database"
    ] == Verdict.failed("ConnectionRefusedError: connection refused")


# --- the registry ------------------------------------------------------------------------------


def test_given_nothing_registered_then_live_but_not_ready() -> None:
    health = Health(Clock(), stale_after=60)

    assert health.liveness().ok
    assert not health.readiness().ok
    assert "starting" in body(health.readiness().body())["failed"]["process"]


def test_given_dependencies_fine_but_no_loop_running_yet_then_not_ready() -> None:
    health = Health(Clock(), stale_after=60)
    health.ready("database", lambda: Verdict.passed("reachable"))
    starting = health.readiness().ok
    health.heartbeat("loop")

    assert (starting, health.readiness().ok) == (False, True)


def test_given_a_stuck_loop_then_neither_live_nor_ready_though_its_dependencies_are_fine() -> None:
    clock = Clock()
    health = Health(clock, stale_after=60)
    loop = health.heartbeat("loop")
    health.ready("database", lambda: Verdict.passed("reachable"))

    clock.t += 30
    loop.beat()
    clock.t += 59
    turning = (health.liveness().ok, health.readiness().ok)
    clock.t += 2
    stuck = (health.liveness().ok, health.readiness().ok)

    assert turning == (True, True)
    assert stuck == (False, False)
    assert body(health.readiness().body())["failed"] == {
        "loop": "no turn of the loop for 61 s (stale after 60 s)"
    }


def test_given_a_failing_readiness_check_then_not_ready_but_still_live() -> None:
    health = Health(Clock(), stale_after=60)
    health.heartbeat("loop")
    health.ready("database", lambda: Verdict.failed("connection refused"))

    assert (health.liveness().ok, health.readiness().ok) == (True, False)


def test_given_a_check_registered_again_then_the_newer_one_counts() -> None:
    health = Health(Clock(), stale_after=60)
    health.heartbeat("loop")
    health.ready("consumer", lambda: Verdict.failed("closed"))
    health.ready("consumer", lambda: Verdict.passed("3 partitions assigned"))

    assert health.readiness().ok


# --- heartbeats and deliveries, by case --------------------------------------------------------


@pytest.mark.parametrize(
    ("beat_at", "checked_at", "ok"),
    [
        (None, 0, True),  # just created: the loop starts now
        (None, 60, True),  # exactly the stale age: still fine
        (None, 60.5, False),
        (50, 100, True),  # a beat resets the age
        (50, 111, False),
    ],
)
def test_heartbeat_by_case(beat_at: float | None, checked_at: float, ok: bool) -> None:
    clock = Clock()
    start = clock.t
    heartbeat = Heartbeat(60, clock)
    if beat_at is not None:
        clock.t = start + beat_at
        heartbeat.beat()
    clock.t = start + checked_at

    assert heartbeat().ok is ok


@pytest.mark.parametrize(
    ("events", "ok", "reason"),
    [
        # (at seconds, "report ok" | "report <error>" | "check <outstanding>")
        (["0 check 0"], True, "nothing outstanding"),
        (["0 check 5", "20 check 5"], True, "delivering"),  # within the grace
        (["0 check 5", "31 check 5"], False, "5 messages outstanding and none delivered for 31 s"),
        (["0 check 5", "25 report ok", "40 check 5"], True, "delivering"),  # progress
        (["0 check 5", "25 report ok", "56 check 5"], False, "none delivered for 31 s"),
        (["0 report Broker: Not enough in-sync replicas", "1 check 3"], False, "delivery failed"),
        (["0 report Local: Message timed out", "2 report ok", "3 check 3"], True, "delivering"),
        (["0 report Local: Message timed out", "31 check 3"], True, "delivering"),  # old error
        (["0 check 5", "40 check 0", "41 check 2"], True, "delivering"),  # a new wait
        (["0 report Local: Message timed out", "1 check 0"], True, "nothing outstanding"),
    ],
)
def test_deliveries_by_case(events: list[str], ok: bool, reason: str) -> None:
    clock = Clock()
    start = clock.t
    deliveries = Deliveries(grace=30, now=clock)
    verdict = EMPTY
    for event in events:
        at, what, argument = event.split(" ", 2)
        clock.t = start + float(at)
        if what == "report":
            deliveries.report(None if argument == "ok" else argument)
        else:
            verdict = deliveries.verdict(int(argument))

    assert verdict.ok is ok
    assert reason in verdict.reason


class Member:
    """The two calls `GroupWatch` makes, answering as a consumer would."""

    def __init__(self, member: str | None, partitions: int) -> None:
        self.member, self.partitions = member, partitions

    def memberid(self) -> str | None:
        return self.member

    def assignment(self) -> list[Any]:
        return list(range(self.partitions))


@pytest.mark.parametrize(
    ("member", "partitions", "ok", "reason"),
    [
        (None, 0, False, "not in its consumer group"),
        ("", 0, False, "not in its consumer group"),
        ("rdkafka-1", 0, True, "0 partitions assigned"),  # more replicas than partitions
        ("rdkafka-1", 3, True, "3 partitions assigned"),
    ],
)
def test_group_watch_by_case(member: str | None, partitions: int, ok: bool, reason: str) -> None:
    watch = GroupWatch()
    unpolled = watch()
    watch.observe(Member(member, partitions))
    verdict = watch()

    assert (unpolled.ok, unpolled.reason) == (False, "not polled yet")
    assert verdict.ok is ok
    assert verdict.reason.startswith(reason)


# --- served over HTTP, next to /metrics ---------------------------------------------------------


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_given_a_served_process_then_livez_readyz_and_metrics_share_its_port() -> None:
    health = Health(Clock(), stale_after=60)
    health.heartbeat("loop")
    database = [Verdict.failed("OperationalError: connection refused")]
    health.ready("database", lambda: database[0])
    port = free_port()

    assert serve(MetricsSettings(port=port, host="127.0.0.1"), "test", health)
    url = f"http://127.0.0.1:{port}"
    down = get(f"{url}/readyz")
    database[0] = Verdict.passed("reachable")
    up = get(f"{url}/readyz")

    assert down[0] == 503
    assert body(down[1])["failed"] == {"database": "OperationalError: connection refused"}
    assert up[0] == 200 and body(up[1])["status"] == "ok"
    assert get(f"{url}/livez")[0] == 200
    assert b"gather_sync_messages_in_total" in get(f"{url}/metrics")[1]


# --- a loop waiting on purpose -----------------------------------------------------------------


def test_given_a_wait_longer_than_the_stale_age_when_paced_then_the_loop_stays_live() -> None:
    clock, slept = Clock(), list[float]()
    health = Health(clock, stale_after=60)
    loop = health.heartbeat("loop")

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.t += seconds
        assert loop().ok  # the probe, at any moment of the wait

    loop.pacing(sleep)(100)

    assert slept == [30, 30, 30, 10]
    assert health.liveness().ok


def test_given_a_stop_event_set_when_paced_then_the_wait_ends_at_once() -> None:
    clock, calls = Clock(), list[float]()
    loop = Heartbeat(60, clock)

    def stopped(seconds: float) -> bool:
        calls.append(seconds)
        return True

    assert loop.pacing(stopped)(100) is True
    assert calls == [30]
