"""The sink's /livez and /readyz on the real broker and PostgreSQL: not ready until it is in its
consumer group, ready once it is, not ready while its database cannot be reached."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from cli.sink import database_check
from connectors.gather import migrate
from connectors.gather.engine import make_engine
from connectors.gather.sink import Sink, SinkSettings
from connectors.gather.store import SqlStore
from connectors.kafka.settings import KafkaSettings
from connectors.kafka.topics import provision_contract_topics
from connectors.telemetry.health import Health
from connectors.telemetry.metrics import MetricsSettings, serve
from tests.connectors.salesforce.harness import wait_until
from tests.connectors.telemetry.test_health import free_port, get

REPO = Path(__file__).resolve().parents[2]
SINK = [sys.executable, "-m", "cli.main", "sink"]


def prefixed(kafka: KafkaSettings) -> KafkaSettings:
    """Topics of the test's own, provisioned: the sink reads nothing of other tests."""
    own = kafka.model_copy(update={"topic_prefix": f"health-{uuid.uuid4().hex[:8]}."})
    provision_contract_topics(own)
    return own


def readyz(port: int) -> tuple[int | None, dict[str, Any]]:
    """The status and body of /readyz; None while nothing listens on the port yet."""
    try:
        status, raw = get(f"http://127.0.0.1:{port}/readyz")
    except OSError:
        return None, {}
    return status, json.loads(raw)


def test_given_a_sink_process_when_it_starts_then_readyz_is_503_until_it_is_in_its_group(
    kafka_settings: KafkaSettings, postgres_engine: Engine, tmp_path: Path
) -> None:
    kafka, port = prefixed(kafka_settings), free_port()
    env = os.environ | {
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
        "GATHER_DATABASE_URL": postgres_engine.url.render_as_string(hide_password=False),
        "SINK_GROUP_ID": f"health-sink-{uuid.uuid4().hex[:8]}",
        "METRICS_PORT": str(port),
        "METRICS_HOST": "127.0.0.1",
    }
    seen: list[tuple[int | None, dict[str, Any]]] = []
    with (tmp_path / "sink.log").open("ab") as log:
        process = subprocess.Popen(SINK, cwd=REPO, env=env, stdout=log, stderr=log)
    try:

        def ready() -> bool:
            seen.append(readyz(port))
            return seen[-1][0] == 200

        up = wait_until(ready, 60, step=0.05)
        live = get(f"http://127.0.0.1:{port}/livez")[0]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)

    assert up, (seen[-1], (tmp_path / "sink.log").read_text()[-2000:])
    statuses = [status for status, _ in seen if status is not None]
    assert statuses[0] == 503 and statuses[-1] == 200
    checks = seen[-1][1]["checks"]
    assert {name: check["ok"] for name, check in checks.items()} == {
        "consumer": True,
        "database": True,
        "dlq_producer": True,
        "loop": True,
    }
    assert live == 200


@contextmanager
def running(sink: Sink) -> Iterator[None]:
    stop = threading.Event()
    thread = threading.Thread(target=sink.run, args=(stop,))
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(30)


def test_given_its_database_at_a_closed_port_then_readyz_is_503_naming_the_database(
    kafka_settings: KafkaSettings, postgres_engine: Engine
) -> None:
    kafka, port = prefixed(kafka_settings), free_port()
    migrate.upgrade(postgres_engine)
    health = Health(stale_after=60)
    closed = make_engine(f"postgresql+psycopg://gather@127.0.0.1:{free_port()}/gather")
    health.ready("database", database_check(closed))
    settings = SinkSettings(group_id=f"health-sink-{uuid.uuid4().hex[:8]}")
    now = lambda: datetime.now(UTC)  # noqa: E731
    sink = Sink(SqlStore.for_engine(postgres_engine), kafka, settings, now=now, health=health)
    assert serve(MetricsSettings(port=port, host="127.0.0.1"), "sink", health)

    with running(sink):
        joined = wait_until(lambda: health.readiness().checks.get("consumer") is not None, 30)
        joined = joined and wait_until(lambda: health.readiness().checks["consumer"].ok, 30)
        status, body = readyz(port)
        live = get(f"http://127.0.0.1:{port}/livez")[0]

    assert joined
    assert (status, live) == (503, 200)
    assert list(body["failed"]) == ["database"]
    assert "refused" in body["failed"]["database"].lower()
    assert body["checks"]["consumer"]["ok"] and body["checks"]["loop"]["ok"]
