"""`gather-sync reprocess` on the running pipeline: after the store lost rows (a restore from an
old backup, say), re-evaluating the tenant from the worker's state brings every row back as it
was, without reading Salesforce again."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, delete

from connectors.gather.schema import accounts, users
from connectors.kafka.settings import KafkaSettings
from tests.connectors.salesforce.harness import wait_until
from tests.e2e.oracle import snapshot
from tests.e2e.pipeline import backfilled, rows, wait_settled


def test_given_rows_lost_from_the_store_when_the_tenant_is_reprocessed_then_they_come_back(
    kafka_settings: KafkaSettings, postgres_engine: Engine, tmp_path: Path
) -> None:
    with backfilled(kafka_settings, postgres_engine, tmp_path, "redo", accounts=40) as (
        _org,
        pipeline,
    ):
        assert wait_settled(postgres_engine)
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
