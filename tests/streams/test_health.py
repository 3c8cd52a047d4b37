"""The Faust worker's /livez and /readyz: the consumer's state by case, and a worker process on
the real broker that is not ready while it joins and recovers, then ready, its sends seen."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer

from connectors.kafka.settings import KafkaSettings
from schemas.contract import Topics
from streams.health import Snapshot, consumer_verdict
from tests.builders import a_tenant_config
from tests.connectors.salesforce.harness import wait_until
from tests.connectors.telemetry.test_health import free_port, get
from tests.support.worker import WorkerProcess, provision


@pytest.mark.parametrize(
    ("snapshot", "ok", "reason"),
    [
        (None, False, "starting: the worker's app is not running yet"),
        (Snapshot(assigned=12, rebalancing=True, recovered=True), False, "rebalancing"),
        (Snapshot(0, False, False), False, "no partitions assigned yet (joining its group)"),
        (Snapshot(12, False, False), False, "recovering its tables"),
        (Snapshot(12, False, True), True, "12 partitions assigned"),
    ],
)
def test_consumer_verdict_by_case(snapshot: Snapshot | None, ok: bool, reason: str) -> None:
    verdict = consumer_verdict(snapshot)

    assert (verdict.ok, verdict.reason) == (ok, reason)


def readyz(port: int) -> tuple[int | None, dict[str, Any]]:
    try:
        status, raw = get(f"http://127.0.0.1:{port}/readyz")
    except OSError:
        return None, {}
    return status, json.loads(raw)


def test_given_a_worker_process_when_it_starts_then_ready_once_assigned_and_recovered(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    prefix, port = f"health-{uuid.uuid4().hex[:8]}.", free_port()
    env = os.environ | {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_settings.bootstrap_servers,
        "KAFKA_TOPIC_PREFIX": prefix,
        "KAFKA_PARTITIONS": "3",
        "METRICS_PORT": str(port),
        "METRICS_HOST": "127.0.0.1",
        "WORKER_APP_ID": f"health-worker-{uuid.uuid4().hex[:8]}",
        "WORKER_DATADIR": str(tmp_path / "faust"),
    }
    provision(env)
    worker = WorkerProcess(env, tmp_path / "worker.log", Topics(prefix), env["WORKER_APP_ID"])
    seen: list[tuple[int | None, dict[str, Any]]] = []

    def answered(status: int) -> bool:
        seen.append(readyz(port))
        return seen[-1][0] == status

    worker.start()
    try:
        up = wait_until(lambda: answered(200), 90, step=0.1)
        # a tenant's config makes the worker send (re-evaluation requests): the producer is seen
        producer = Producer(kafka_settings.producer_config())
        config = json.dumps(a_tenant_config(tenant="acme")).encode()
        producer.produce(Topics(prefix).gather_tenants, key=b"acme", value=config)
        assert producer.flush(30) == 0
        sent = wait_until(
            lambda: answered(200) and seen[-1][1]["checks"]["producer"]["delivered"] > 0, 30
        )
        live = get(f"http://127.0.0.1:{port}/livez")[0]
    finally:
        worker.stop()

    assert up, (seen[-1], (tmp_path / "worker.log").read_text()[-2000:])
    statuses = [status for status, _ in seen if status is not None]
    assert statuses[0] == 503  # starting: Faust starts its tasks once it has joined and recovered
    checks = seen[-1][1]["checks"]
    assert {name: check["ok"] for name, check in checks.items()} == {
        "consumer": True,
        "loop": True,
        "producer": True,
    }
    assert sent and live == 200
