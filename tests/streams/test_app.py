"""The Faust worker on the real broker: changes in `sf.changes` become upserts in the Gather
topics, with closed-won decided across the `sf.deals` repartition."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Producer

from connectors.kafka.settings import KafkaSettings
from connectors.kafka.topics import (
    GATHER_ACCOUNTS,
    GATHER_TENANTS,
    GATHER_USERS,
    SF_CHANGES,
)
from schemas.changes import ChangeType, SalesforceChange
from schemas.gather import GatherUpsert
from schemas.versions import Version
from tests.builders import a_tenant_config
from tests.connectors.salesforce.harness import ChangesReader, wait_until

REPO = Path(__file__).resolve().parents[2]
WORKER = ["-m", "faust", "-A", "streams.app", "worker", "-l", "warn", "--without-web"]
ACCOUNT, DEAL, CONTACT = "001Dn0000000001IAA", "006Dn0000000001IAA", "003Dn0000000001IAA"


@pytest.fixture(params=["memory://", "rocksdb://"])
def worker(
    request: pytest.FixtureRequest, kafka_settings: KafkaSettings, tmp_path: Path
) -> Iterator[str]:
    """The worker on a topic prefix of its own, with its tables in memory or in RocksDB;
    yields the prefix."""
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
    subprocess.run(
        [sys.executable, "-m", "cli.main", "topics", "provision"], cwd=REPO, env=env, check=True
    )
    with (tmp_path / "worker.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, *WORKER], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    yield prefix
    process.terminate()
    process.wait(timeout=60)
    if request.param == "rocksdb://":
        assert list((tmp_path / "faust").rglob("*.sst")) or list(
            (tmp_path / "faust").rglob("*.log")
        )


def send(
    producer: Producer,
    prefix: str,
    tenant: str,
    obj: str,
    record_id: str,
    ts: int,
    kind: ChangeType = ChangeType.UPDATE,
    **fields: object,
) -> None:
    change = SalesforceChange(
        tenant=tenant,
        object=obj,
        record_id=record_id,
        change_type=kind,
        version=Version(commit_ts=ts),
        fields=fields,
    )
    value = change.model_dump_json().encode()
    producer.produce(prefix + SF_CHANGES, key=change.key.encode(), value=value)


def test_given_a_won_deal_and_a_contact_then_the_account_and_its_user_are_upserted(
    kafka_settings: KafkaSettings,
    worker: str,
) -> None:
    prefix = worker
    tenant = f"w-{uuid.uuid4().hex[:8]}"
    config = a_tenant_config(
        tenant=tenant,
        accounts={"sync_mode": "create_new", "id_field": "AccountNumber", "closed_won_only": True},
        contacts={"sync_mode": "create_new", "id_field": "Email"},
    )
    producer = Producer(kafka_settings.producer_config())
    producer.produce(
        prefix + GATHER_TENANTS, key=tenant.encode(), value=json.dumps(config).encode()
    )
    send(
        producer,
        prefix,
        tenant,
        "Account",
        ACCOUNT,
        1,
        ChangeType.CREATE,
        Name="Acme",
        AccountNumber="A-1",
    )
    send(
        producer,
        prefix,
        tenant,
        "Opportunity",
        DEAL,
        2,
        ChangeType.CREATE,
        AccountId=ACCOUNT,
        IsWon=True,
    )
    send(
        producer,
        prefix,
        tenant,
        "Contact",
        CONTACT,
        3,
        ChangeType.CREATE,
        LastName="Hopper",
        Email="grace@example.com",
        AccountId=ACCOUNT,
    )
    assert producer.flush(30) == 0
    accounts, users = (
        ChangesReader(kafka_settings, prefix + GATHER_ACCOUNTS),
        ChangesReader(kafka_settings, prefix + GATHER_USERS),
    )

    assert wait_until(lambda: bool(_poll(accounts, tenant)), timeout=240, step=0)
    assert wait_until(lambda: bool(_poll(users, tenant)), timeout=60, step=0)

    account = _upserts(accounts, tenant)[0]
    assert (account.gather_id, account.traits["name"]) == ("A-1", "Acme")
    user = _upserts(users, tenant)[0]
    assert (user.gather_id, user.account_sf_id) == ("grace@example.com", ACCOUNT)
    accounts.close()
    users.close()


def _poll(reader: ChangesReader, tenant: str) -> list[GatherUpsert]:
    reader.poll_for(1.0)
    return _upserts(reader, tenant)


def _upserts(reader: ChangesReader, tenant: str) -> list[GatherUpsert]:
    return [
        GatherUpsert.model_validate_json(v)
        for k, v in reader.messages
        if k.startswith(f"{tenant}:")
    ]
