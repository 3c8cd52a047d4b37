"""A valid tenant config loads into the contract the product guide describes."""

from __future__ import annotations

from pathlib import Path

import yaml

from schemas.loader import load_tenant_configs, parse_tenant_configs
from schemas.tenant import Operator, SecretRef, SyncMode, TenantConfig
from tests.builders import a_tenant_config

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tenant-acme.yaml"


def test_given_the_example_config_when_loaded_then_every_section_is_typed() -> None:
    [config] = load_tenant_configs(EXAMPLE)

    assert config.tenant == "acme"
    assert config.accounts is not None and config.accounts.sync_mode is SyncMode.CREATE_NEW
    assert config.accounts.closed_won_only is True
    assert config.accounts.filter is not None
    assert [c.operator for c in config.accounts.filter.conditions] == [Operator.IN, Operator.GTE]
    assert config.contacts is not None and config.contacts.match_trait == "salesforce_contact_id"
    assert [(c.object, c.model) for c in config.custom_objects] == [("Invoice__c", "invoices")]


def test_given_closed_won_only_when_listing_objects_then_opportunities_are_subscribed() -> None:
    [config] = load_tenant_configs(EXAMPLE)

    assert config.synced_objects() == ["Account", "Opportunity", "Contact", "Invoice__c"]


def test_given_a_secret_reference_when_dumped_then_only_the_reference_is_there() -> None:
    [config] = parse_tenant_configs(yaml.safe_dump(a_tenant_config()))

    dumped = config.model_dump(mode="json")

    assert dumped["salesforce"]["auth"]["client_secret"] == {"env": "ACME_SF_SECRET", "file": None}
    assert isinstance(config.salesforce.auth.client_secret, SecretRef)  # type: ignore[union-attr]


def test_given_a_config_when_dumped_and_loaded_again_then_it_is_equal() -> None:
    [config] = load_tenant_configs(EXAMPLE)

    again = TenantConfig.model_validate_json(config.model_dump_json())

    assert again == config


def test_given_several_documents_when_loaded_then_each_tenant_is_returned() -> None:
    text = yaml.safe_dump_all([a_tenant_config(), a_tenant_config(tenant="globex")])

    assert [c.tenant for c in parse_tenant_configs(text)] == ["acme", "globex"]


def test_given_the_json_schema_when_exported_then_it_forbids_unknown_keys_and_lists_operators() -> (
    None
):
    schema = TenantConfig.model_json_schema()

    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"tenant", "salesforce"}
    operators = schema["$defs"]["Operator"]["enum"]
    assert "not_in" in operators and "starts_with" in operators and len(operators) == 14
