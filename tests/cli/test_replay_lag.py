"""`gather-sync replay` and `gather-sync lag` on the real broker: dry-run tables, refusal while a
group has live members, applied replays, lag in messages and seconds, statuses across refreshes,
and a replay's rewind shown as one."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer

from cli.lag import run_lag
from cli.main import main
from connectors.gather import migrate
from connectors.gather.engine import make_engine
from connectors.gather.store import SqlStore
from connectors.kafka.lag import LagMonitor
from connectors.kafka.lag_collector import LagCollector, LagFilter, lag_report
from connectors.kafka.replay import ReplayClient
from connectors.kafka.settings import KafkaSettings
from tests.builders import a_version, an_upsert
from tests.support.groups import a_group_with_offsets, a_topic, commit, now_ms, produce

# --- builders and helpers ---------------------------------------------------------------------


@pytest.fixture
def kafka(kafka_settings: KafkaSettings, monkeypatch: pytest.MonkeyPatch) -> KafkaSettings:
    """The CLI reads KAFKA_* from the environment: point it at the test broker."""
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_settings.bootstrap_servers)
    return kafka_settings


@pytest.fixture
def store_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path}/gather.db"
    monkeypatch.setenv("GATHER_DATABASE_URL", url)
    return url


@pytest.fixture
def topic(kafka: KafkaSettings) -> Iterator[str]:
    with a_topic(kafka, "cli-replay") as name:
        yield name


def committed(kafka: KafkaSettings, group: str, topic: str) -> list[int | None]:
    return [p.committed for p in ReplayClient(kafka).partition_offsets(group, topic)]


def table_rows(text: str, first_cell: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines() if line.split()[:1] == [first_cell]]


def lag_args(**overrides: Any) -> argparse.Namespace:
    values: dict[str, Any] = {
        "group": None,
        "topic": None,
        "watch": False,
        "interval": 5.0,
        "json": True,
        "window": 3,
    }
    return argparse.Namespace(**(values | overrides))


# --- replay -----------------------------------------------------------------------------------


def test_given_committed_offsets_when_dry_run_to_earliest_then_the_table_shows_the_plan(
    kafka: KafkaSettings, topic: str, capsys: pytest.CaptureFixture[str]
) -> None:
    group = a_group_with_offsets(kafka, topic, now_ms() - 60_000)

    code = main(["replay", "--group", group, "--topic", topic, "--to-earliest", "--dry-run"])

    out = capsys.readouterr().out
    assert code == 0
    assert f"replay of group '{group}' on topic '{topic}'" in out and "dry run" in out
    assert table_rows(out, "partition") == [
        ["partition", "from", "to", "earliest", "end", "re-read", "note"]
    ]
    assert table_rows(out, "0") == [["0", "6", "0", "0", "6", "6"]]
    assert table_rows(out, "1") == [["1", "3", "0", "0", "4", "3"]]
    assert "total: 9 message(s) to re-read on 2 partition(s)" in out
    assert committed(kafka, group, topic) == [6, 3]


def test_given_message_times_when_dry_run_by_duration_then_only_the_recent_ones_are_re_read(
    kafka: KafkaSettings, topic: str, capsys: pytest.CaptureFixture[str]
) -> None:
    group = a_group_with_offsets(kafka, topic, now_ms() - 3 * 3600_000)  # three hours ago
    produce(kafka, topic, 0, 2, now_ms() - 1000)
    commit(kafka, group, topic, 8, 3)

    assert (
        main(["replay", "--group", group, "--topic", topic, "--by-duration", "1h", "--dry-run"])
        == 0
    )

    out = capsys.readouterr().out
    assert table_rows(out, "0") == [["0", "8", "6", "0", "8", "2"]]
    assert table_rows(out, "1")[0][:6] == ["1", "3", "4", "0", "4", "0"]
    assert "already before the target" in out


def test_given_a_live_consumer_when_replayed_then_it_refuses_naming_the_group_and_the_fix(
    kafka: KafkaSettings, topic: str, capsys: pytest.CaptureFixture[str]
) -> None:
    group = a_group_with_offsets(kafka, topic, now_ms() - 60_000)
    member = Consumer(kafka.consumer_config(group) | {"client.id": "live-sink"})
    member.subscribe([topic])
    try:
        assert _joined(member)

        code = main(["replay", "--group", group, "--topic", topic, "--to-earliest"])
    finally:
        member.close()

    err = capsys.readouterr().err
    assert code == 1
    assert f"group '{group}' has 1 live member(s): live-sink@" in err
    assert f"stop every process consuming with group '{group}'" in err
    assert "run the replay again" in err
    assert committed(kafka, group, topic) == [6, 3]


def test_given_no_live_members_when_replayed_to_an_offset_then_the_offsets_move_back(
    kafka: KafkaSettings, topic: str, capsys: pytest.CaptureFixture[str]
) -> None:
    group = a_group_with_offsets(kafka, topic, now_ms() - 60_000)

    code = main(["replay", "--group", group, "--topic", topic, "--to-offset", "2"])

    out = capsys.readouterr().out
    assert code == 0
    assert "partition 0: 6 -> 2" in out and "partition 1: 3 -> 2" in out
    assert committed(kafka, group, topic) == [2, 2]
    assert {(r.partition, r.from_offset, r.to_offset) for r in _replays(kafka, group)} == {
        (0, 6, 2),
        (1, 3, 2),
    }


def test_given_an_offset_past_the_end_when_replayed_then_it_says_so_and_exits_one(
    kafka: KafkaSettings, topic: str, capsys: pytest.CaptureFixture[str]
) -> None:
    group = a_group_with_offsets(kafka, topic, now_ms() - 60_000)

    code = main(["replay", "--group", group, "--topic", topic, "--to-offset", "5"])

    assert code == 1
    assert f"offset 5 is past the end of {topic}[1], whose next offset is 4" in (
        capsys.readouterr().err
    )
    assert committed(kafka, group, topic) == [6, 3]


def test_given_a_group_without_offsets_when_replayed_then_it_says_there_is_nothing_to_replay(
    kafka: KafkaSettings, topic: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["replay", "--group", f"none-{topic}", "--topic", topic, "--to-earliest"])

    assert code == 1
    assert f"group 'none-{topic}' has no committed offsets on topic '{topic}'" in (
        capsys.readouterr().err
    )


def test_given_a_time_without_zone_when_replayed_then_argparse_asks_for_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["replay", "--group", "g", "--topic", "t", "--to-datetime", "2026-11-28T09:00:00"])

    assert exit_.value.code == 2
    assert "has no time zone; add one, e.g. 2026-11-28T09:00:00Z" in capsys.readouterr().err


# --- lag --------------------------------------------------------------------------------------


def test_given_a_group_behind_when_lag_json_then_messages_and_seconds_are_shown(
    kafka: KafkaSettings, topic: str, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    group = a_group_with_offsets(kafka, topic, now_ms() - 600_000)  # ten minutes ago

    assert main(["lag", "--group", group, "--json"]) == 0

    report = json.loads(capsys.readouterr().out)
    rows = {r["partition"]: r for r in report["partitions"]}
    assert (rows[0]["lag"], rows[0]["lag_seconds"], rows[0]["status"]) == (0, 0.0, "OK")
    assert rows[1]["lag"] == 1 and rows[1]["lag_seconds_source"] == "message"
    # the message at offset 3 was created 600 - 3 s ago
    assert 597 <= rows[1]["lag_seconds"] < 597 + 60
    assert rows[1]["status"] == "STOP"  # nobody is consuming and the group has lag
    assert report["freshness_error"].startswith("no store at")


def test_given_watch_when_refreshed_then_the_window_is_kept_across_refreshes(
    kafka: KafkaSettings, topic: str, capsys: pytest.CaptureFixture[str]
) -> None:
    group = a_group_with_offsets(kafka, topic, now_ms() - 60_000)
    member = Consumer(kafka.consumer_config(group) | {"client.id": "stuck-worker"})
    member.subscribe([topic])
    clock = iter(time.time() + 5 * i for i in range(10))
    refreshes = 0

    def sleep(_seconds: float) -> None:
        nonlocal refreshes
        refreshes += 1
        if refreshes == 3:
            raise KeyboardInterrupt
        produce(kafka, topic, 1, 1, now_ms())

    try:
        assert _joined(member)
        code = run_lag(lag_args(group=[group], watch=True), kafka, lambda: next(clock), sleep, None)
    finally:
        member.close()

    reports = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    behind = [next(p for p in r["partitions"] if p["partition"] == 1) for r in reports]
    assert code == 0 and len(reports) == 3
    assert [p["lag"] for p in behind] == [1, 2, 3]
    assert [p["status"] for p in behind] == ["OK", "STALL", "STALL"]  # live, but not moving
    assert all(p["live_members"] == 1 for p in behind)


def test_given_a_replay_when_lag_is_read_then_the_rewind_is_shown_as_a_replay(
    kafka: KafkaSettings, topic: str, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    group = a_group_with_offsets(kafka, topic, now_ms() - 60_000)
    commit(kafka, group, topic, 6, 4)
    collector, monitor = LagCollector(kafka), LagMonitor()
    only = LagFilter(groups=(group,))
    before = lag_report(collector, monitor, time.time(), only).partitions
    assert main(["replay", "--group", group, "--topic", topic, "--to-earliest"]) == 0

    after = lag_report(collector, monitor, time.time(), only).partitions
    assert main(["lag", "--group", group]) == 0

    out = capsys.readouterr().out
    assert [r.status_text for r in before] == ["OK", "OK"]
    assert [(r.lag, r.status_text) for r in after] == [
        (6, "REWIND (replay)"),
        (4, "REWIND (replay)"),
    ]
    assert table_rows(out, "group") == [
        ["group", "topic", "partition", "committed", "end", "lag", "lag", "s", "status"]
    ]
    assert [row[2:6] + row[-2:] for row in table_rows(out, group)] == [
        ["0", "0", "6", "6", "REWIND", "(replay)"],
        ["1", "0", "4", "4", "REWIND", "(replay)"],
    ]


def test_given_changes_applied_to_the_store_when_lag_is_read_then_freshness_per_tenant(
    kafka: KafkaSettings, topic: str, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = make_engine(store_url)
    migrate.upgrade(engine)
    commit_ms = now_ms() - 120_000
    SqlStore.for_engine(engine).apply(
        [an_upsert(tenant="acme", version=a_version(ts=commit_ms))], datetime.now(UTC)
    )
    engine.dispose()
    group = a_group_with_offsets(kafka, topic, now_ms() - 60_000)

    assert main(["lag", "--group", group]) == 0

    out = capsys.readouterr().out
    assert "freshness: the newest Salesforce commit applied to the store, per tenant" in out
    [acme] = table_rows(out, "acme")
    assert acme[1] == datetime.fromtimestamp(commit_ms / 1000, UTC).isoformat(timespec="seconds")
    assert 120 <= float(acme[2]) < 180


def _joined(member: Consumer, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        member.poll(0.2)
        if member.assignment():
            return True
    return False


def _replays(kafka: KafkaSettings, group: str) -> list[Any]:
    return [r for r in ReplayClient(kafka).read_replays() if r.group == group]
