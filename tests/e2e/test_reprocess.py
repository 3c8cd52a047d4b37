"""`gather-sync reprocess` on the running pipeline: after the store lost rows (a restore from an
old backup, say), re-evaluating the tenant from the worker's state brings every row back as it
was, without reading Salesforce again."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, delete, func, select

from connectors.gather.schema import accounts, users
from connectors.kafka.settings import KafkaSettings
from sfsim.clock import SystemClock
from sfsim.testing import ThreadedSfsim
from tests.connectors.salesforce.builders import tenant_document
from tests.connectors.salesforce.harness import wait_until
from tests.e2e.oracle import snapshot
from tests.e2e.pipeline import Pipeline


def rows(engine: Engine) -> int:
    with engine.connect() as db:
        return int(db.execute(select(func.count()).select_from(accounts)).scalar_one()) + int(
            db.execute(select(func.count()).select_from(users)).scalar_one()
        )


def settled(engine: Engine, previous: list[int]) -> bool:
    """The row count is above zero and did not move since the last look."""
    previous.append(rows(engine))
    return len(previous) > 2 and previous[-1] == previous[-2] == previous[-3] > 0


def test_given_rows_lost_from_the_store_when_the_tenant_is_reprocessed_then_they_come_back(
    kafka_settings: KafkaSettings, postgres_engine: Engine, tmp_path: Path
) -> None:
    url = postgres_engine.url.render_as_string(hide_password=False)
    with (
        ThreadedSfsim(tmp_path / "tls", clock=SystemClock(), accounts=40) as org,
        Pipeline(kafka_settings, org, url, tmp_path) as pipeline,
    ):
        by_id = {"sync_mode": "create_new", "id_field": "Id"}
        pipeline.apply(tenant_document(org, "redo", accounts=by_id), "redo")
        assert wait_until(lambda: org.admin("state")["cometd_polling"] >= 1, timeout=90)
        filled = pipeline.cli("backfill", "--tenant", "redo")
        assert filled.returncode == 0, filled.stdout + filled.stderr
        seen: list[int] = []
        assert wait_until(lambda: settled(postgres_engine, seen), timeout=120, step=2)
        before = snapshot(postgres_engine)
        with postgres_engine.begin() as db:
            db.execute(delete(users))
            db.execute(delete(accounts))

        done = pipeline.cli("reprocess", "--tenant", "redo")
        assert done.returncode == 0, done.stdout + done.stderr
        restored = wait_until(lambda: snapshot(postgres_engine) == before, timeout=120, step=2)
        assert restored, (done.stdout, done.stderr[-500:], len(before), rows(postgres_engine))

    assert len(before) > 40  # accounts and their contacts, not a vacuous comparison
    assert "upserts published, 0 failed" in done.stdout
    assert "state: records" in done.stderr and "upserts" in done.stderr  # the progress bars
