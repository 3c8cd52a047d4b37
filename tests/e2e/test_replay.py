"""`gather-sync replay` on the running pipeline: the sink stopped, its group moved back to the
start of a topic that holds older versions of every row, `lag` shows the rewind as a replay, and
at no moment while the sink re-reads does the store differ from what it was: nothing moves
backwards, not even for a while."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from connectors.kafka.settings import KafkaSettings
from schemas.contract import Topics
from tests.connectors.salesforce.harness import Traffic, wait_until
from tests.e2e.oracle import snapshot
from tests.e2e.pipeline import SINK, Pipeline, backfilled, wait_settled


def sink_lag(pipeline: Pipeline, topic: str) -> list[dict[str, Any]]:
    group = pipeline.env["SINK_GROUP_ID"]
    done = pipeline.cli("lag", "--group", group, "--topic", topic, "--json")
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout.splitlines()[0])["partitions"])


def test_given_newer_changes_applied_when_the_sink_replays_its_topic_then_nothing_moves_back(
    kafka_settings: KafkaSettings, postgres_engine: Engine, tmp_path: Path
) -> None:
    with backfilled(kafka_settings, postgres_engine, tmp_path, "again", accounts=30) as (
        org,
        pipeline,
    ):
        with Traffic(org, changes=4, pause=0.05):  # several versions of many rows in the topics
            time.sleep(8)
        assert wait_settled(postgres_engine)
        before = snapshot(postgres_engine)
        pipeline.stop(pipeline.processes[0])  # the sink

        topic = Topics(pipeline.prefix).gather_accounts
        group = pipeline.env["SINK_GROUP_ID"]
        done = pipeline.cli("replay", "--group", group, "--topic", topic, "--to-earliest")
        behind = sink_lag(pipeline, topic)
        pipeline.env["SINK_BATCH_SIZE"] = "1"  # one transaction per message: every state is seen
        pipeline.spawn("sink-again", SINK)
        moved_back: list[int] = []  # looks at the store, during the re-read, that differ
        looks = 0

        def re_read() -> bool:
            nonlocal looks
            looks += 1
            if snapshot(postgres_engine) != before:
                moved_back.append(looks)
            return looks % 20 == 0 and all(p["lag"] == 0 for p in sink_lag(pipeline, topic))

        caught_up = wait_until(re_read, timeout=180, step=0.05)
        after = snapshot(postgres_engine)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "re-read" in done.stdout
    assert sum(p["lag"] for p in behind) > len(before)  # older versions too, not just one each
    assert {p["status"] for p in behind if p["lag"]} == {"REWIND (replay)"}
    assert caught_up and after == before
    assert looks >= 20 and moved_back == []
