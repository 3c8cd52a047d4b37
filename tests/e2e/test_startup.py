"""Stages started while Kafka and PostgreSQL are unreachable wait for them, say so, and then work.

Tried as an operator would before: a worker started without its broker exited after about 13 s
(`Unable to bootstrap`), a listener after 30 s (`Failed to get metadata`), a sink without its
database at once (`MigrationError`); each stayed down until someone restarted it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import ProgrammingError

from connectors.kafka.settings import KafkaSettings
from sfsim.clock import SystemClock
from sfsim.testing import ThreadedSfsim
from tests.chaos.services import PROXIES, Services
from tests.connectors.salesforce.builders import tenant_document
from tests.connectors.salesforce.harness import Traffic, wait_until
from tests.e2e.pipeline import SINK, WORKER, Pipeline, rows

LONGER_THAN_THEY_LASTED = 35.0  # seconds: past the listener's old 30 s metadata timeout


def whole_log(workdir: Path, name: str) -> str:
    return (workdir / f"{name}.log").read_text(errors="replace")


def synced(store: Engine) -> int:
    try:
        return rows(store)
    except ProgrammingError:
        return 0  # not migrated yet: the sink is still in its last wait for the database


def says(workdir: Path, name: str, line: str) -> bool:
    return line in whole_log(workdir, name)


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    running = Services(tmp_path).start()
    yield running
    running.close()


def test_given_broker_and_database_unreachable_at_start_then_each_stage_waits_and_then_syncs(
    services: Services, tmp_path: Path
) -> None:
    assert services.toxiproxy is not None
    kafka = KafkaSettings(bootstrap_servers=services.bootstrap)
    with ThreadedSfsim(tmp_path / "tls", clock=SystemClock(), accounts=10) as org:
        pipeline = Pipeline(kafka, org, services.database_url, tmp_path)
        assert pipeline.cli("topics", "provision").returncode == 0
        for proxy in PROXIES:
            services.toxiproxy.enabled(proxy, False)  # connections refused from here on
        try:  # not `with pipeline`: that would start the stages on the broker's own port
            pipeline.spawn("sink", SINK, services.stage_env("sink"))
            pipeline.spawn("worker", WORKER, services.stage_env("worker"))
            pipeline.spawn("listener", ["-m", "cli.main", "listen"], services.stage_env("listener"))
            time.sleep(LONGER_THAN_THEY_LASTED)

            exited = {n: p.returncode for n, p in pipeline.named.items() if p.poll() is not None}
            assert exited == {}, {n: pipeline.log(n) for n in exited}
            for stage, line in [
                ("worker", "waiting for kafka"),
                ("listener", "waiting for kafka"),
                ("sink", "waiting for database"),
            ]:
                said = partial(says, tmp_path, stage, line)
                assert wait_until(said, timeout=30), stage

            for proxy in PROXIES:
                services.toxiproxy.enabled(proxy, True)
            by_id = {"sync_mode": "create_new", "id_field": "Id"}
            pipeline.apply(tenant_document(org, "late", accounts=by_id), "late")
            assert wait_until(lambda: org.admin("state")["cometd_polling"] >= 1, timeout=90), (
                pipeline.log("listener")
            )
            store = create_engine(services.database_url)
            with Traffic(org, changes=2, pause=0.2):
                assert wait_until(lambda: synced(store) > 0, timeout=120, step=1), {
                    n: pipeline.log(n) for n in pipeline.named
                }
            assert "database reachable again" in whole_log(tmp_path, "sink")
            assert "kafka reachable again" in whole_log(tmp_path, "worker")
            store.dispose()
        finally:
            pipeline.__exit__(None, None, None)
