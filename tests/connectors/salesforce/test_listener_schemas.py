"""Field types through Kafka: the listener puts each synced object's describe types on
`sf.schemas` before any change of the object, and describes again (publishing first) when a
change carries a field the last describe lacked. Against sfsim and the real broker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY

from connectors.kafka.settings import KafkaSettings
from schemas.contract import Topics, schema_key
from schemas.describe import ObjectSchema
from sfsim.testing import ThreadedSfsim
from tests.connectors.salesforce.builders import a_tenant, sfsim_environ
from tests.connectors.salesforce.harness import (
    ChangesReader,
    ListenerThread,
    apply_configs,
    listener_settings,
    tenants_topic,
    unique,
    wait_until,
)


@pytest.fixture
def schemas(kafka_settings: KafkaSettings) -> Iterator[ChangesReader]:
    found = ChangesReader(kafka_settings, Topics.of(kafka_settings).sf_schemas)
    yield found
    found.close()


@pytest.fixture
def changes(kafka_settings: KafkaSettings) -> Iterator[ChangesReader]:
    found = ChangesReader(kafka_settings)
    yield found
    found.close()


def published(reader: ChangesReader, tenant: str, obj: str) -> list[tuple[ObjectSchema, int]]:
    """Every ObjectSchema of one object on `sf.schemas`, with when it was produced."""
    return [
        (ObjectSchema.model_validate_json(value), stamp)
        for (key, value), stamp in zip(reader.messages, reader.timestamps, strict=True)
        if key == schema_key(tenant, obj)
    ]


def first_change_stamp(reader: ChangesReader, tenant: str, field: str) -> int | None:
    """When the first change of the tenant carrying `field` was produced."""
    for (key, value), stamp in zip(reader.messages, reader.timestamps, strict=True):
        if key.startswith(f"{tenant}:") and f'"{field}"' in value.decode():
            return stamp
    return None


def test_given_a_tenant_subscribing_then_sf_schemas_holds_each_synced_objects_types_first(
    kafka_settings: KafkaSettings,
    org: ThreadedSfsim,
    schemas: ChangesReader,
    changes: ChangesReader,
) -> None:
    topic, tenant = tenants_topic(kafka_settings), unique("types")
    apply_configs(kafka_settings, topic, [a_tenant(org, tenant)])
    with ListenerThread(listener_settings(topic, org), kafka_settings, sfsim_environ(org)):
        assert wait_until(lambda: org.admin("state")["cometd_polling"] >= 1)
        org.call(lambda: org.state.org.create("Account", {"Name": "Typed", "Industry": "Media"}))
        changes.wait(tenant, lambda found: len(found) >= 1)
        schemas.poll_for(2)

    [(account, account_at)] = published(schemas, tenant, "Account")
    [(contact, _)] = published(schemas, tenant, "Contact")
    assert account.fields["NumberOfEmployees"] == "int"
    assert account.fields["AnnualRevenue"] == "currency"
    assert account.fields["BillingCity"] == "string" and "BillingAddress" not in account.fields
    assert contact.fields["Birthdate"] == "date" and "Name" not in contact.fields
    assert account.tenant == tenant and published(schemas, tenant, "Opportunity") == []
    stamp = first_change_stamp(changes, tenant, "Industry")
    assert stamp is not None and account_at <= stamp


def test_given_a_field_added_in_the_org_when_a_record_sets_it_then_new_types_precede_the_change(
    kafka_settings: KafkaSettings,
    org: ThreadedSfsim,
    schemas: ChangesReader,
    changes: ChangesReader,
) -> None:
    topic, tenant = tenants_topic(kafka_settings), unique("newfield")
    apply_configs(kafka_settings, topic, [a_tenant(org, tenant)])
    with ListenerThread(listener_settings(topic, org), kafka_settings, sfsim_environ(org)):
        assert wait_until(lambda: org.admin("state")["cometd_polling"] >= 1)
        record = org.call(lambda: org.state.org.create("Account", {"Name": "Before"}))
        org.admin("fields", {"object": "Account", "name": "Tier__c", "type": "picklist"})
        org.call(lambda: org.state.org.update("Account", record, {"Tier__c": "Gold"}))
        changes.wait(tenant, lambda found: any("Tier__c" in c.fields for c in found))
        schemas.poll_for(2)

    [(first, _), (second, second_at)] = published(schemas, tenant, "Account")
    assert "Tier__c" not in first.fields and second.fields["Tier__c"] == "picklist"
    assert second.digest() != first.digest()
    stamp = first_change_stamp(changes, tenant, "Tier__c")
    assert stamp is not None and second_at <= stamp


def test_given_a_config_naming_fields_the_org_lacks_then_each_is_logged_and_counted(
    kafka_settings: KafkaSettings,
    org: ThreadedSfsim,
    changes: ChangesReader,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from connectors.telemetry.logs import configure_logging

    configure_logging("INFO")
    topic, tenant = tenants_topic(kafka_settings), unique("misfit")
    accounts = {
        "sync_mode": "create_new",
        "id_field": "AccountNumber",
        "extra_traits": ["Tier__c"],
        "filter": {
            "match": "all",
            "conditions": [
                {"field": "NumberOfEmploys", "operator": "gte", "value": 10},
                {"field": "Industry", "operator": "gt", "value": "Media"},
            ],
        },
    }
    # straight to the topic, as a config applied without the CLI's org check would be
    apply_configs(kafka_settings, topic, [a_tenant(org, tenant, accounts=accounts)])
    with ListenerThread(listener_settings(topic, org), kafka_settings, sfsim_environ(org)):
        assert wait_until(lambda: org.admin("state")["cometd_polling"] >= 1)
        org.call(lambda: org.state.org.create("Account", {"Name": "Still synced"}))
        found = changes.wait(tenant, lambda found: len(found) >= 1)

    logged = [
        line for line in capsys.readouterr().err.splitlines() if "does not fit the org" in line
    ]
    assert REGISTRY.get_sample_value("gather_sync_config_problems", {"tenant": tenant}) == 3
    assert len(logged) == 3 and all(tenant in line for line in logged)
    paths = [
        "accounts.extra_traits[0]",
        "accounts.filter.conditions[0].field",
        "accounts.filter.conditions[1].operator",
    ]
    assert [p for p in paths if any(f'"path": "{p}"' in line for line in logged)] == paths
    assert any("did you mean NumberOfEmployees?" in line for line in logged)
    assert [c.fields.get("Name") for c in found] == ["Still synced"]  # the stream runs on
