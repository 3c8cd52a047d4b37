"""`gather-sync run` (what `make run` starts) keeps to a namespace of its own: tenants and
messages other runs left on the same broker under other names never reach it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

from sqlalchemy import create_engine, func, inspect, select

from cli.kafka_io import SyncPublisher
from cli.run import NAMESPACE, demo_environ
from connectors.gather.schema import accounts
from connectors.kafka.settings import KafkaSettings
from schemas.contract import Topics
from tests.builders import a_tenant_config
from tests.connectors.salesforce.harness import wait_until
from tests.e2e.pipeline import REPO


def test_given_no_names_set_then_the_demo_uses_its_own_prefix_and_groups() -> None:
    names = demo_environ({"KAFKA_BOOTSTRAP_SERVERS": "b:9092"})

    assert names["KAFKA_TOPIC_PREFIX"] == "gather-sync-demo."
    assert {names[k] for k in ("LISTENER_GROUP_ID", "WORKER_APP_ID", "SINK_GROUP_ID")} == {
        "gather-sync-demo-listener",
        "gather-sync-demo-worker",
        "gather-sync-demo-sink",
    }
    assert names["KAFKA_BOOTSTRAP_SERVERS"] == "b:9092"


def test_given_names_set_by_the_user_then_they_win() -> None:
    names = demo_environ({"KAFKA_TOPIC_PREFIX": "mine.", "SINK_GROUP_ID": "my-sink"})

    assert (names["KAFKA_TOPIC_PREFIX"], names["SINK_GROUP_ID"]) == ("mine.", "my-sink")
    assert names["WORKER_APP_ID"] == f"{NAMESPACE}-worker"


def publish(kafka: KafkaSettings, topic: str, tenant: str, value: bytes | None) -> None:
    publisher = SyncPublisher(kafka.producer_config(), tenant=tenant)
    publisher.send(topic, tenant, value)
    publisher.close()


def started_tenants(log: Path) -> set[str]:
    found = set()
    for line in log.read_text(errors="replace").splitlines() if log.exists() else []:
        if line.startswith("{") and '"tenant"' in line:
            found.add(str(json.loads(line)["tenant"]))
    return found


def account_rows(db: Path) -> int:
    engine = create_engine(f"sqlite:///{db}")
    try:
        if not inspect(engine).has_table("accounts"):
            return 0
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(accounts)).scalar_one())
    finally:
        engine.dispose()


def test_given_a_tenant_left_under_the_default_names_when_run_starts_then_only_the_demo_runs(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    # what a test run leaves: a tenant on the unprefixed gather.tenants (its org is nowhere)
    stray = f"stray-{uuid.uuid4().hex[:8]}"
    shared = Topics("").gather_tenants
    publish(kafka_settings, shared, stray, json.dumps(a_tenant_config(tenant=stray)).encode())
    run = f"runtest-{uuid.uuid4().hex[:8]}"
    env = os.environ | {
        "PYTHONPATH": str(REPO),
        "KAFKA_BOOTSTRAP_SERVERS": kafka_settings.bootstrap_servers,
        "GATHER_DATABASE_URL": f"sqlite:///{tmp_path / 'gather.db'}",
    }
    for name in ("KAFKA_TOPIC_PREFIX", "LISTENER_GROUP_ID", "WORKER_APP_ID", "SINK_GROUP_ID"):
        env.pop(name, None)
    # a namespace of its own, so this test shares no topic with `make run`'s
    command = [sys.executable, "-m", "cli.main", "run", "--namespace", run]
    with (tmp_path / "run.log").open("wb") as out:
        process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=out, stderr=out)
    try:
        synced = wait_until(lambda: account_rows(tmp_path / "gather.db") > 0, timeout=180, step=2)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=120)
        publish(kafka_settings, shared, stray, None)  # removed again, for the tests after

    log = tmp_path / ".local" / "run" / "listener.log"
    assert synced, (tmp_path / "run.log").read_text()[-3000:]
    assert started_tenants(log) == {"demo"}
