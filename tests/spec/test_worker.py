"""The spec table through the running worker: every case a tenant of its own on the real broker,
its steps published as the listener would (describe types to `sf.schemas`, configs to
`gather.tenants`, changes to `sf.changes`), one change at a time for every case at once, the
worker left to go quiet after each; its upserts are then written by the real store, and each
case's store must equal the reference's."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer

from connectors.gather.engine import make_engine
from connectors.gather.store import SqlStore
from connectors.kafka.settings import KafkaSettings
from schemas.contract import Topics, tenant_of
from schemas.describe import ObjectSchema
from schemas.gather import GatherUpsert
from schemas.loader import validate_tenant_config
from tests.spec.builders import Case
from tests.spec.cases import CASES
from tests.spec.compare import differences
from tests.spec.product import NOW, _changes, _seed, migrated, read_store
from tests.spec.reference import Record, Step, expected
from tests.support.topics import read_all
from tests.support.worker import WorkerProcess, provision, quiet

Message = tuple[str, str, bytes]  # (topic, key, value)


@pytest.fixture(scope="module")
def worker(
    kafka_settings: KafkaSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    prefix, home = f"spec-{uuid.uuid4().hex[:8]}.", tmp_path_factory.mktemp("worker")
    env = os.environ | {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_settings.bootstrap_servers,
        "KAFKA_TOPIC_PREFIX": prefix,
        "KAFKA_PARTITIONS": "3",
        "METRICS_PORT": "0",
        "WORKER_APP_ID": f"spec-worker-{uuid.uuid4().hex[:8]}",
        "WORKER_DATADIR": str(home / "faust"),
        "WORKER_COMMIT_INTERVAL": "0.2",  # so the wait for a quiet worker is short
    }
    provision(env)
    running = WorkerProcess(env, home / "worker.log", Topics(prefix), env["WORKER_APP_ID"])
    running.start()
    yield running
    running.stop()


@dataclass(frozen=True)
class Plan:
    """One case as a tenant of its own: what to publish, round by round."""

    case: Case
    tenant: str
    rounds: list[list[Message]]

    def config(self, document: Mapping[str, Any]) -> dict[str, Any]:
        return dict(document) | {"tenant": self.tenant}

    def steps(self) -> list[Step]:
        return [
            Step(s.records, self.config(s.config) if s.config else None) for s in self.case.steps
        ]


def plan(case: Case, tenant: str, topics: Topics) -> Plan:
    """Round 0: the types and the first config; then each config change and each record change
    of each step, one per round, in the order the product's own run takes them."""
    made = Plan(case, tenant, [])
    first = [_schema(topics, tenant, obj, fields) for obj, fields in case.types.items()]
    made.rounds.append([*first, _config(topics, made.config(case.config))])
    seen: dict[tuple[str, str], Record] = {}
    for n, step in enumerate(case.steps):
        if step.config is not None:
            made.rounds.append([_config(topics, made.config(step.config))])
        for change in _changes(tenant, step.records, seen, n):
            value = change.model_dump_json().encode()
            made.rounds.append([(topics.sf_changes, change.key, value)])
    return made


def _schema(topics: Topics, tenant: str, obj: str, fields: Mapping[str, str]) -> Message:
    schema = ObjectSchema(tenant=tenant, object=obj, fields=dict(fields), read_at=datetime.now(UTC))
    return topics.sf_schemas, schema.key, schema.model_dump_json().encode()


def _config(topics: Topics, document: Mapping[str, Any]) -> Message:
    return topics.gather_tenants, str(document["tenant"]), json.dumps(document).encode()


def test_given_every_case_of_the_table_when_the_worker_runs_them_then_each_store_equals_the_reference(
    kafka_settings: KafkaSettings, worker: WorkerProcess, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:6]
    plans = [plan(case, f"s{n}-{run}", worker.topics) for n, case in enumerate(CASES)]
    producer = Producer(kafka_settings.producer_config())

    for r in range(max(len(p.rounds) for p in plans)):
        for topic, key, value in (m for p in plans if r < len(p.rounds) for m in p.rounds[r]):
            producer.produce(topic, key=key.encode(), value=value)
        assert producer.flush(30) == 0
        assert quiet(kafka_settings, worker), f"the worker did not go quiet after round {r}"

    upserts = _everything(kafka_settings, worker.topics.gather_data)
    empty = migrated(tmp_path / "empty.db")
    wrong = {
        p.case.name: found
        for n, p in enumerate(plans)
        if (found := _differences(p, upserts.get(p.tenant, []), empty, tmp_path / f"{n}.db"))
    }
    assert wrong == {}


def _differences(plan: Plan, upserts: list[GatherUpsert], empty: Path, path: Path) -> list[str]:
    """The worker's upserts of one case through the store, against the reference."""
    engine = make_engine(f"sqlite:///{shutil.copy(empty, path)}")
    store = SqlStore.for_engine(engine)
    _seed(engine, plan.tenant, plan.case.existing)
    steps = plan.steps()
    for document in [plan.config(plan.case.config), *(s.config for s in steps if s.config)]:
        config = validate_tenant_config(dict(document))
        models = [(c.model, c.object, c.id_field) for c in config.custom_objects]
        store.save_models(plan.tenant, models, NOW)
    store.apply(upserts, NOW)
    want = expected(plan.config(plan.case.config), plan.case.types, steps, plan.case.existing)
    found = differences(read_store(engine), want.rows)
    engine.dispose()
    return found


def _everything(kafka: KafkaSettings, topics: list[str]) -> dict[str, list[GatherUpsert]]:
    """Every upsert on the topics, from the start, by tenant."""
    by_tenant: dict[str, list[GatherUpsert]] = {}
    for key, value in read_all(kafka, topics):
        by_tenant.setdefault(tenant_of(key), []).append(GatherUpsert.model_validate_json(value))
    return by_tenant
