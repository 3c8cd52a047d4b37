"""The Faust worker on the real broker: changes in `sf.changes` become upserts in the Gather
topics, with closed-won decided across the `sf.deals` repartition, filters typed by the describe
types on `sf.schemas`, and a restart that re-evaluates only what changed while it was down."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer

from connectors.kafka.settings import KafkaSettings
from schemas.changes import ChangeType
from schemas.contract import DeadLetter, Topics
from schemas.describe import ObjectSchema
from schemas.gather import EntityKind, GatherUpsert
from tests.builders import a_tenant_config, org_types
from tests.connectors.salesforce.harness import ChangesReader, wait_until
from tests.streams.test_evaluator import change
from tests.support.topics import limit_message_size
from tests.support.worker import WorkerProcess, provision

ACCOUNT, DEAL, CONTACT = "001Dn0000000001IAA", "006Dn0000000001IAA", "003Dn0000000001IAA"


@pytest.fixture(params=["memory://", "rocksdb://"])
def worker(
    request: pytest.FixtureRequest, kafka_settings: KafkaSettings, tmp_path: Path
) -> Iterator[WorkerProcess]:
    """The worker with its tables in memory or in RocksDB, running."""
    prefix = f"app-{uuid.uuid4().hex[:8]}."
    env = os.environ | {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_settings.bootstrap_servers,
        "KAFKA_TOPIC_PREFIX": prefix,
        "KAFKA_PARTITIONS": "3",
        "METRICS_PORT": "0",
        "WORKER_APP_ID": f"worker-{uuid.uuid4().hex[:8]}",
        "WORKER_DATADIR": str(tmp_path / "faust"),
        "WORKER_STORE": request.param,
    }
    provision(env)
    running = WorkerProcess(env, tmp_path / "worker.log", Topics(prefix), env["WORKER_APP_ID"])
    running.start()
    yield running
    running.stop()
    if request.param == "rocksdb://":
        assert list((tmp_path / "faust").rglob("*.sst")) or list(
            (tmp_path / "faust").rglob("*.log")
        )


class Org:
    """What the listener would publish: tenant configs, describe types and changes."""

    def __init__(self, kafka: KafkaSettings, topics: Topics) -> None:
        self.producer, self.topics = Producer(kafka.producer_config()), topics

    def config(self, tenant: str, **sections: Any) -> None:
        document = a_tenant_config(tenant=tenant, **sections)
        self._send(self.topics.gather_tenants, tenant, json.dumps(document).encode())

    def types(self, tenant: str, *objects: str) -> None:
        for obj in objects:
            schema = ObjectSchema(
                tenant=tenant, object=obj, fields=org_types(tenant, obj), read_at=datetime.now(UTC)
            )
            self._send(self.topics.sf_schemas, schema.key, schema.model_dump_json().encode())

    def change(
        self,
        tenant: str,
        obj: str,
        record_id: str,
        ts: int,
        kind: ChangeType = ChangeType.UPDATE,
        **fields: Any,
    ) -> None:
        made = change(obj, record_id, ts, kind, tenant, **fields)
        self._send(self.topics.sf_changes, made.key, made.model_dump_json().encode())

    def accounts(self, tenant: str, count: int) -> None:
        """`count` new Accounts, numbered, sent together."""
        for n in range(count):
            made = change("Account", _record_id("001", n), 1, ChangeType.CREATE, tenant,
                          AccountNumber=f"A-{n}")  # fmt: skip
            self.producer.produce(
                self.topics.sf_changes, key=made.key.encode(), value=made.model_dump_json()
            )
        assert self.producer.flush(30) == 0

    def _send(self, topic: str, key: str, value: bytes) -> None:
        self.producer.produce(topic, key=key.encode(), value=value)
        assert self.producer.flush(30) == 0


class Upserts:
    """Everything the worker wrote to the Gather topics, read from the start."""

    def __init__(self, kafka: KafkaSettings, topics: Topics) -> None:
        self.readers = [ChangesReader(kafka, topic) for topic in topics.gather_data]

    def of(self, tenant: str, seconds: float = 1.0) -> list[GatherUpsert]:
        for reader in self.readers:
            reader.poll_for(seconds / len(self.readers))
        return [
            GatherUpsert.model_validate_json(v)
            for reader in self.readers
            for k, v in reader.messages
            if k.startswith(f"{tenant}:")
        ]

    def ids(self, tenant: str) -> set[str]:
        return {str(u.gather_id) for u in self.of(tenant)}

    def close(self) -> None:
        for reader in self.readers:
            reader.close()


def test_given_a_won_deal_and_a_contact_then_the_account_and_its_user_are_upserted(
    kafka_settings: KafkaSettings,
    worker: WorkerProcess,
) -> None:
    tenant = f"w-{uuid.uuid4().hex[:8]}"
    org = Org(kafka_settings, worker.topics)
    org.config(
        tenant,
        accounts={"sync_mode": "create_new", "id_field": "AccountNumber", "closed_won_only": True},
        contacts={"sync_mode": "create_new", "id_field": "Email"},
    )
    org.change(tenant, "Account", ACCOUNT, 1, ChangeType.CREATE, Name="Acme", AccountNumber="A-1")
    org.change(tenant, "Opportunity", DEAL, 2, ChangeType.CREATE, AccountId=ACCOUNT, IsWon=True)
    org.change(
        tenant,
        "Contact",
        CONTACT,
        3,
        ChangeType.CREATE,
        LastName="Hopper",
        Email="grace@example.com",
        AccountId=ACCOUNT,
    )
    upserts = Upserts(kafka_settings, worker.topics)

    assert wait_until(
        lambda: {u.kind for u in upserts.of(tenant)} == set(EntityKind) - {EntityKind.RECORD},
        timeout=240,
        step=0,
    )

    newest = {u.kind: u for u in upserts.of(tenant)}  # in the order they were sent
    account, user = newest[EntityKind.ACCOUNT], newest[EntityKind.USER]
    assert (account.gather_id, account.traits["name"]) == ("A-1", "Acme")
    assert (user.gather_id, user.account_sf_id) == ("grace@example.com", ACCOUNT)
    upserts.close()


def _rule(field: str, operator: str, value: Any) -> dict[str, Any]:
    return {"match": "all", "conditions": [{"field": field, "operator": operator, "value": value}]}


def _accounts(rule: dict[str, Any]) -> dict[str, Any]:
    return {"sync_mode": "create_new", "id_field": "AccountNumber", "filter": rule}


def _record_id(prefix: str, n: int) -> str:
    return f"{prefix}Dn{n:010d}IAA"


# (tenant suffix, config sections, object, the field's values; the ids the guide says sync)
TYPED: list[tuple[str, dict[str, Any], str, dict[str, Any], set[str]]] = [
    ("employees", {"accounts": _accounts(_rule("NumberOfEmployees", "gte", 10))}, "Account",
     {"e2": 2, "e9": 9, "e10": 10, "e100": 100}, {"e10", "e100"}),
    ("revenue", {"accounts": _accounts(_rule("AnnualRevenue", "gt", 1_000_000))}, "Account",
     {"r-low": 999_999.5, "r-equal": 1_000_000, "r-high": 1_000_000.5, "r-big": 25_000_000},
     {"r-high", "r-big"}),
    ("created", {"accounts": _accounts(_rule("CreatedDate", "gt", "2026-01-01T00:00:00+02:00"))},
     "Account",
     {"c-after": "2025-12-31T23:00:00.000+0000", "c-before": "2025-12-31T21:00:00.000+0000",
      "c-later": "2026-03-01T00:00:00.000Z"},
     {"c-after", "c-later"}),
    ("closing", {"custom_objects": [{"object": "Opportunity", "id_field": "Name", "model": "deals",
                                     "filter": _rule("CloseDate", "lt", "2026-10-01")}]},
     "Opportunity", {"d-sep": "2026-09-30", "d-oct": "2026-10-01", "d-dec": "2026-12-31"},
     {"d-sep"}),
    ("won", {"custom_objects": [{"object": "Opportunity", "id_field": "Name", "model": "deals",
                                 "filter": _rule("IsWon", "equals", True)}]},
     "Opportunity", {"w-yes": True, "w-no": False}, {"w-yes"}),
]  # fmt: skip
FIELD = {"employees": "NumberOfEmployees", "revenue": "AnnualRevenue", "created": "CreatedDate",
         "closing": "CloseDate", "won": "IsWon"}  # fmt: skip


@pytest.mark.parametrize("worker", ["memory://"], indirect=True)  # the tables do not matter
def test_given_typed_filters_then_numbers_currency_dates_and_booleans_compare_by_type_once_the_types_arrive(
    kafka_settings: KafkaSettings,
    worker: WorkerProcess,
) -> None:
    run = uuid.uuid4().hex[:6]
    org = Org(kafka_settings, worker.topics)
    for name, sections, obj, values, _ in TYPED:
        tenant = f"{name}-{run}"
        org.config(tenant, **{"accounts": None, "contacts": None, "custom_objects": []} | sections)
        for n, (record, value) in enumerate(values.items()):
            id_field = "AccountNumber" if obj == "Account" else "Name"
            fields = {id_field: record, FIELD[name]: value}
            org.change(tenant, obj, _record_id(obj[:3], n), 1, ChangeType.CREATE, **fields)
    upserts = Upserts(kafka_settings, worker.topics)
    tenants = [(f"{name}-{run}", obj, expected) for name, _, obj, _, expected in TYPED]
    time.sleep(8)  # the worker has the changes, but no describe types: nothing may be evaluated

    waited = {tenant: upserts.ids(tenant) for tenant, _, _ in tenants}
    for tenant, obj, _ in tenants:
        org.types(tenant, obj)

    assert waited == {tenant: set() for tenant, _, _ in tenants}
    for tenant, _, expected in tenants:
        assert _settles(upserts, tenant, expected), (tenant, upserts.ids(tenant))
    upserts.close()


def _settles(upserts: Upserts, tenant: str, expected: set[str]) -> bool:
    return wait_until(lambda: upserts.ids(tenant) == expected, timeout=120, step=0)


def test_given_a_restart_then_only_tenants_whose_config_changed_meanwhile_are_re_evaluated(
    kafka_settings: KafkaSettings,
    worker: WorkerProcess,
) -> None:
    run = uuid.uuid4().hex[:6]
    same, changed = f"same-{run}", f"changed-{run}"
    accounts = {"sync_mode": "create_new", "id_field": "AccountNumber"}
    org, upserts = Org(kafka_settings, worker.topics), Upserts(kafka_settings, worker.topics)
    for tenant in (same, changed):
        org.config(tenant, accounts=accounts, contacts=None, custom_objects=[])
        org.types(tenant, "Account")
        org.change(
            tenant, "Account", ACCOUNT, 1, ChangeType.CREATE, AccountNumber="A-1", AnnualRevenue=5
        )
    assert wait_until(lambda: all(upserts.of(t) for t in (same, changed)), timeout=240, step=0)
    time.sleep(3)  # both tenants' re-evaluations (config, then types) are applied and sent
    before = {t: len(upserts.of(t)) for t in (same, changed)}

    worker.stop()
    org.config(changed, accounts=accounts | {"extra_traits": ["AnnualRevenue"]}, contacts=None,
               custom_objects=[])  # fmt: skip
    worker.start()

    assert wait_until(lambda: len(upserts.of(changed)) > before[changed], timeout=240, step=0)
    time.sleep(5)  # a worker that re-evaluated everything would have sent `same` again by now
    assert len(upserts.of(same)) == before[same]
    assert upserts.of(changed)[-1].traits["annual_revenue"] == 5
    upserts.close()


@pytest.mark.parametrize("worker", ["memory://"], indirect=True)  # the tables do not matter
def test_given_changes_waiting_when_a_fresh_worker_starts_then_each_record_is_upserted_once(
    kafka_settings: KafkaSettings,
    worker: WorkerProcess,
) -> None:
    """The worker's first re-evaluation request found nothing applied and re-sent every record
    handled before it (a backfill's first minute sent twice): records evaluated with the config
    and types the worker holds need no second look."""
    tenant, count = f"once-{uuid.uuid4().hex[:6]}", 3000
    org, upserts = Org(kafka_settings, worker.topics), Upserts(kafka_settings, worker.topics)
    worker.stop()
    org.config(tenant, accounts={"sync_mode": "create_new", "id_field": "AccountNumber"},
               contacts=None, custom_objects=[])  # fmt: skip
    org.types(tenant, "Account")
    org.accounts(tenant, count)
    worker.start()

    assert wait_until(lambda: len(upserts.ids(tenant)) == count, timeout=240, step=0)
    time.sleep(5)  # a re-evaluation would have re-sent them by now
    sent = Counter(str(u.gather_id) for u in upserts.of(tenant))
    assert sent == {f"A-{n}": 1 for n in range(count)}
    upserts.close()


@pytest.mark.parametrize("worker", ["memory://"], indirect=True)  # the tables do not matter
def test_given_a_malformed_change_then_it_goes_to_the_dlq_with_its_stage_and_the_agent_goes_on(
    kafka_settings: KafkaSettings,
    worker: WorkerProcess,
) -> None:
    tenant = f"bad-{uuid.uuid4().hex[:8]}"
    org = Org(kafka_settings, worker.topics)
    org.config(tenant, accounts={"sync_mode": "create_new", "id_field": "AccountNumber"})
    org._send(worker.topics.sf_changes, f"{tenant}:Account:{ACCOUNT}", b'{"tenant": 1}')
    org.change(tenant, "Account", ACCOUNT, 1, ChangeType.CREATE, AccountNumber="A-1")
    dlq = ChangesReader(kafka_settings, Topics.dlq(worker.topics.sf_changes))
    upserts = Upserts(kafka_settings, worker.topics)

    assert wait_until(lambda: upserts.ids(tenant) == {"A-1"}, timeout=240, step=0)
    assert wait_until(lambda: _read(dlq), timeout=30, step=0)
    [(key, value)] = dlq.messages
    letter = DeadLetter.decode(value)
    assert (key, letter.stage, letter.original) == (
        f"{tenant}:Account:{ACCOUNT}",
        "worker.changes",
        '{"tenant": 1}',
    )
    assert "ValidationError" in letter.error
    dlq.close()
    upserts.close()


def _read(reader: ChangesReader) -> bool:
    reader.poll_for(0.5)
    return bool(reader.messages)


def test_given_no_broker_when_the_app_module_is_imported_then_no_app_or_client_is_built() -> None:
    code = "import streams.app as m; print(m._worker is None, 'app' in vars(m))"
    env = os.environ | {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}  # nothing listens there
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout

    assert out.split() == ["True", "False"]  # built on first access of `app`, not at import


@pytest.mark.parametrize("worker", ["memory://"], indirect=True)
def test_given_an_upsert_too_large_for_its_topic_then_it_goes_to_that_topic_dlq_and_the_rest_flow(
    kafka_settings: KafkaSettings,
    worker: WorkerProcess,
) -> None:
    tenant = f"big-{uuid.uuid4().hex[:8]}"
    accounts = worker.topics.gather_topic(EntityKind.ACCOUNT)
    limit_message_size(kafka_settings, accounts, 2000)
    org = Org(kafka_settings, worker.topics)
    org.config(tenant, accounts={"sync_mode": "create_new", "id_field": "AccountNumber"})
    big, small = ACCOUNT, "001Dn0000000002IAA"
    noise = os.urandom(3000).hex()  # 6,000 characters lz4 cannot squeeze under 2,000 bytes
    org.change(tenant, "Account", big, 1, ChangeType.CREATE, AccountNumber="A-1", Name=noise)
    org.change(tenant, "Account", small, 2, ChangeType.CREATE, AccountNumber="A-2", Name="Small")
    dlq = ChangesReader(kafka_settings, Topics.dlq(accounts))
    upserts = Upserts(kafka_settings, worker.topics)

    assert wait_until(lambda: upserts.ids(tenant) == {"A-2"}, timeout=240, step=0)
    assert wait_until(lambda: _read(dlq), timeout=60, step=0)
    # one letter per time the upsert was derived (the config's first re-evaluation sends again)
    assert {key for key, _ in dlq.messages} == {f"{tenant}:account:{big}"}
    letter = DeadLetter.decode(dlq.messages[0][1])
    assert letter.stage == "worker.send"
    assert "MSG_SIZE_TOO_LARGE" in letter.error
    assert noise[:100] in letter.original
    dlq.close()
    upserts.close()
