"""`tenants apply` and `tenants validate --org` check each config against its org (real sfsim)
before anything reaches gather.tenants (the real broker)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from cli.main import main
from cli.run import SECRET_VAR as DEMO_SECRET_VAR
from cli.run import _demo_config
from connectors.kafka.compacted import read_compacted
from connectors.kafka.settings import KafkaSettings
from schemas.contract import Topics
from sfsim.metadata import load_schema
from sfsim.testing import ThreadedSfsim
from tests.connectors.salesforce.builders import sfsim_environ, tenant_document

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
MISFITS = {
    "match": "all",
    "conditions": [
        {"field": "NumberOfEmploye", "operator": "gte", "value": 10},
        {"field": "Industry", "operator": "gt", "value": "Banking"},
        {"field": "NumberOfEmployees", "operator": "gte", "value": "ten"},
    ],
}


def misfit_lines(tenant: str) -> list[str]:
    return [
        f"tenant '{tenant}': accounts.filter.conditions[0].field: no field 'NumberOfEmploye' on "
        "Account; did you mean NumberOfEmployees?",
        f"tenant '{tenant}': accounts.filter.conditions[1].operator: 'gt' orders values, which "
        "does not fit Industry (picklist); use one of equals, not_equals, contains, "
        "not_contains, starts_with, ends_with, is_empty, is_not_empty, in, not_in",
        f"tenant '{tenant}': accounts.filter.conditions[2].value: 'ten' cannot be compared with "
        "NumberOfEmployees (int); write a number, e.g. 10 or 2500.50",
    ]


@pytest.fixture
def env(
    kafka_settings: KafkaSettings, sfsim: ThreadedSfsim, monkeypatch: pytest.MonkeyPatch
) -> Iterator[KafkaSettings]:
    """The CLI's environment: the broker, sfsim's CA and the secrets the configs reference."""
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_settings.bootstrap_servers)
    monkeypatch.setenv("LISTENER_SALESFORCE_CA_FILE", sfsim.credentials.ca)
    for name, value in sfsim_environ(sfsim).items():
        monkeypatch.setenv(name, value)
    assert main(["topics", "provision"]) == 0
    yield kafka_settings


def a_file(tmp_path: Path, document: dict[str, Any]) -> Path:
    path = tmp_path / f"{document['tenant']}.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def a_tenant() -> str:
    return f"org-{uuid.uuid4().hex[:8]}"


def applied(kafka: KafkaSettings) -> dict[str, bytes]:
    group = f"t-{uuid.uuid4().hex[:8]}"
    return read_compacted(kafka.consumer_config(group), Topics.of(kafka).gather_tenants)


def test_given_a_config_that_fits_sfsim_when_applied_then_it_is_on_gather_tenants(
    env: KafkaSettings, sfsim: ThreadedSfsim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = a_tenant()
    accounts = {
        "sync_mode": "create_new",
        "id_field": "AccountNumber",
        "extra_traits": ["AnnualRevenue", "ShippingAddress"],
        "filter": {
            "match": "all",
            "conditions": [{"field": "NumberOfEmployees", "operator": "gte", "value": 10}],
        },
    }
    path = a_file(tmp_path, tenant_document(sfsim, tenant, accounts=accounts))

    assert main(["tenants", "apply", str(path)]) == 0

    assert f"applied tenant '{tenant}'" in capsys.readouterr().out
    assert tenant in applied(env)


def test_given_a_misfit_when_applied_then_each_problem_is_named_and_nothing_is_published(
    env: KafkaSettings, sfsim: ThreadedSfsim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant, good = a_tenant(), a_tenant()
    accounts = {"sync_mode": "create_new", "id_field": "AccountNumber", "filter": MISFITS}
    bad_path = a_file(tmp_path, tenant_document(sfsim, tenant, accounts=accounts))
    good_path = a_file(tmp_path, tenant_document(sfsim, good))

    assert main(["tenants", "apply", str(good_path), str(bad_path)]) == 1

    err = capsys.readouterr().err
    assert [f"  {line}" in err.splitlines() for line in misfit_lines(tenant)] == [True] * 3
    assert "nothing applied" in err
    assert {tenant, good}.isdisjoint(applied(env))


def test_given_a_misfit_when_validated_with_org_then_it_exits_one_naming_each_problem(
    env: KafkaSettings, sfsim: ThreadedSfsim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = a_tenant()
    accounts = {"sync_mode": "create_new", "id_field": "AccountNumber", "filter": MISFITS}
    path = a_file(tmp_path, tenant_document(sfsim, tenant, accounts=accounts))

    assert main(["tenants", "validate", str(path), "--org"]) == 1

    err = capsys.readouterr().err
    assert f"{path}: tenant '{tenant}' does not fit its org (3 problem(s)):" in err
    assert [f"  {line}" in err.splitlines() for line in misfit_lines(tenant)] == [True] * 3
    assert tenant not in applied(env)


def test_given_a_misfit_when_validated_without_org_then_it_is_valid(
    sfsim: ThreadedSfsim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = a_tenant()
    accounts = {"sync_mode": "create_new", "id_field": "AccountNumber", "filter": MISFITS}
    path = a_file(tmp_path, tenant_document(sfsim, tenant, accounts=accounts))

    assert main(["tenants", "validate", str(path)]) == 0

    assert f"tenant '{tenant}' is valid; objects: Account, Contact" in capsys.readouterr().out


def test_given_a_misfit_when_applied_with_no_org_check_then_it_is_published(
    env: KafkaSettings, sfsim: ThreadedSfsim, tmp_path: Path
) -> None:
    tenant = a_tenant()
    accounts = {"sync_mode": "create_new", "id_field": "AccountNumber", "filter": MISFITS}
    path = a_file(tmp_path, tenant_document(sfsim, tenant, accounts=accounts))

    assert main(["tenants", "apply", "--no-org-check", str(path)]) == 0

    assert tenant in applied(env)


def test_given_an_org_that_cannot_be_reached_when_applied_then_it_exits_two_saying_so(
    env: KafkaSettings, sfsim: ThreadedSfsim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = a_tenant()
    document = tenant_document(sfsim, tenant)
    document["salesforce"]["login_url"] = "https://127.0.0.1:9"  # discard port: nothing listens
    path = a_file(tmp_path, document)

    assert main(["tenants", "apply", str(path)]) == 2

    err = capsys.readouterr().err
    assert f"tenant '{tenant}': cannot check against its org: the org (login " in err
    assert "https://127.0.0.1:9, instance " in err and ") is unreachable (" in err
    assert "invalid tenant config" not in err and "does not fit" not in err
    assert tenant not in applied(env)


def test_given_a_secret_that_is_not_set_when_validated_with_org_then_it_exits_two_naming_it(
    sfsim: ThreadedSfsim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = tenant_document(sfsim, a_tenant())
    document["salesforce"]["auth"]["client_secret"] = {"env": "NOT_SET_ANYWHERE_SF_SECRET"}

    assert main(["tenants", "validate", "--org", str(a_file(tmp_path, document))]) == 2

    assert "environment variable NOT_SET_ANYWHERE_SF_SECRET is not set" in capsys.readouterr().err


def test_given_the_make_run_demo_tenant_when_validated_with_org_then_it_fits_sfsim(
    sfsim: ThreadedSfsim,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    c = sfsim.credentials
    monkeypatch.setenv(DEMO_SECRET_VAR, c.client_secret)
    monkeypatch.setenv("LISTENER_SALESFORCE_CA_FILE", c.ca)
    path = a_file(tmp_path, _demo_config({"url": c.url, "client_id": c.client_id}))

    assert main(["tenants", "validate", "--org", str(path)]) == 0

    assert "tenant 'demo' is valid and fits its org" in capsys.readouterr().out


@pytest.fixture(scope="module")
def acme_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedSfsim]:
    """sfsim serving the custom fields and objects examples/tenant-acme.yaml names."""
    schema = load_schema(EXAMPLES / "sfsim-acme-schema.yaml")
    with ThreadedSfsim(tmp_path_factory.mktemp("acme"), schema=schema) as server:
        yield server


def test_given_the_example_config_and_an_org_with_its_fields_when_validated_then_it_fits(
    acme_org: ThreadedSfsim,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    example = yaml.safe_load((EXAMPLES / "tenant-acme.yaml").read_text(encoding="utf-8"))
    example["salesforce"] = tenant_document(acme_org, "acme")["salesforce"]
    monkeypatch.setenv("LISTENER_SALESFORCE_CA_FILE", acme_org.credentials.ca)
    for name, value in sfsim_environ(acme_org).items():
        monkeypatch.setenv(name, value)

    assert main(["tenants", "validate", "--org", str(a_file(tmp_path, example))]) == 0

    assert "tenant 'acme' is valid and fits its org" in capsys.readouterr().out
