"""The command line: schema export, config validation, topics and store set-up."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import yaml
from confluent_kafka.admin import AdminClient

from cli.main import main
from connectors.kafka.compacted import read_compacted
from connectors.kafka.settings import KafkaSettings
from schemas.contract import Topics
from sfsim.testing import ThreadedSfsim
from tests.builders import a_tenant_config, with_path
from tests.connectors.salesforce.builders import sfsim_environ, tenant_document

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tenant-acme.yaml"


def test_given_schema_export_when_written_to_a_file_then_it_is_the_config_json_schema(
    tmp_path: Path,
) -> None:
    out = tmp_path / "schema.json"

    assert main(["schema", "export", "--out", str(out)]) == 0

    schema = json.loads(out.read_text())
    assert schema["title"] == "TenantConfig"
    assert {"accounts", "contacts", "custom_objects"} <= set(schema["properties"])


def test_given_a_valid_config_when_validated_then_it_exits_zero_and_lists_objects(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["tenants", "validate", str(EXAMPLE)]) == 0

    assert "tenant 'acme' is valid; objects: Account, Opportunity, Contact, Invoice__c" in (
        capsys.readouterr().out
    )


def test_given_a_wrong_config_when_validated_then_it_exits_one_naming_tenant_and_path(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(with_path(a_tenant_config(), "accounts.sync_mode", "sometimes")))

    assert main(["tenants", "validate", str(bad)]) == 1

    assert (
        "tenant 'acme': accounts.sync_mode: 'sometimes' is not allowed" in capsys.readouterr().err
    )


def test_given_a_missing_file_when_validated_then_it_says_it_cannot_read_it(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["tenants", "validate", str(tmp_path / "nope.yaml")]) == 1

    assert "nope.yaml: cannot read: No such file or directory" in capsys.readouterr().err


def test_given_a_sqlite_url_when_db_migrate_runs_then_the_store_is_at_head(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GATHER_DATABASE_URL", f"sqlite:///{tmp_path}/g.db")

    assert main(["db", "migrate"]) == 0

    assert "is at revision 0004" in capsys.readouterr().out


def test_given_the_broker_when_topics_are_provisioned_then_the_contract_topics_exist(
    kafka_settings: KafkaSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_settings.bootstrap_servers)
    monkeypatch.setenv("KAFKA_PARTITIONS", "3")

    assert main(["topics", "provision"]) == 0

    topics = AdminClient(kafka_settings.admin_config()).list_topics(timeout=30).topics
    assert {"sf.changes", "gather.tenants", "sf.checkpoints", "gather.users.dlq"} <= set(topics)


def test_given_a_config_when_applied_then_gather_tenants_holds_it_with_references_only(
    kafka_settings: KafkaSettings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_settings.bootstrap_servers)
    main(["topics", "provision"])
    tenant = f"cli-{uuid.uuid4().hex[:8]}"
    path = tmp_path / "tenant.yaml"
    path.write_text(yaml.safe_dump(a_tenant_config(tenant=tenant)))

    assert main(["tenants", "apply", "--no-org-check", str(path)]) == 0

    applied = read_compacted(kafka_settings.consumer_config(f"t-{tenant}"), Topics().gather_tenants)
    assert json.loads(applied[tenant])["salesforce"]["auth"]["client_secret"] == {
        "env": "ACME_SF_SECRET",
        "file": None,
    }
    assert f"applied tenant '{tenant}'" in capsys.readouterr().out
    assert main(["tenants", "remove", tenant]) == 0
    assert tenant not in read_compacted(
        kafka_settings.consumer_config(f"u-{tenant}"), Topics().gather_tenants
    )


def test_given_one_bad_file_among_good_ones_when_applying_then_nothing_is_applied(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(yaml.safe_dump(a_tenant_config()))
    bad.write_text(yaml.safe_dump(with_path(a_tenant_config(), "tenant", "Bad Name")))

    assert main(["tenants", "apply", str(good), str(bad)]) == 1

    assert "nothing applied" in capsys.readouterr().err


def test_given_sfsim_when_backfill_runs_from_a_config_file_then_every_record_is_published(
    kafka_settings: KafkaSettings,
    sfsim: ThreadedSfsim,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_settings.bootstrap_servers)
    monkeypatch.setenv("LISTENER_SALESFORCE_CA_FILE", sfsim.credentials.ca)
    for name, value in sfsim_environ(sfsim).items():
        monkeypatch.setenv(name, value)
    main(["topics", "provision"])
    tenant = f"fill-{uuid.uuid4().hex[:8]}"
    path = tmp_path / "tenant.yaml"
    path.write_text(yaml.safe_dump(tenant_document(sfsim, tenant)))
    accounts = sfsim.call(lambda: sum(1 for _ in sfsim.state.org.rows("Account")))
    contacts = sfsim.call(lambda: sum(1 for _ in sfsim.state.org.rows("Contact")))

    assert main(["backfill", "--tenant", tenant, "--config", str(path)]) == 0

    out = capsys.readouterr()
    total = accounts + contacts
    assert (
        f"{total} records published to sf.changes ({total} acknowledged, 0 failed, 0 sent"
        in out.out
    )
    assert f"Account              [##############################] {accounts}/{accounts}" in out.err
