"""Builders of test data: valid by default, changed only where a test says so."""

from __future__ import annotations

import copy
from typing import Any

from schemas.changes import ChangeType, SalesforceChange
from schemas.gather import EntityKind, GatherUpsert, Operation
from schemas.versions import Version
from streams.merge import RecordState, merge_all

DELETE = object()  # as a value in `with_path`: remove the key

_TENANT: dict[str, Any] = {
    "tenant": "acme",
    "salesforce": {
        "instance_url": "https://acme.my.salesforce.com",
        "auth": {
            "flow": "client_credentials",
            "client_id": "3MVGacme",
            "client_secret": {"env": "ACME_SF_SECRET"},
        },
    },
    "accounts": {"sync_mode": "create_new", "id_field": "Gather_Id__c"},
    "contacts": {"sync_mode": "update_existing", "match_trait": "salesforce_contact_id"},
    "custom_objects": [{"object": "Invoice__c", "id_field": "Name", "model": "invoices"}],
}


def a_tenant_config(**top_level: Any) -> dict[str, Any]:
    """A valid tenant config document (a dict, as YAML would load it)."""
    document = copy.deepcopy(_TENANT)
    document.update(top_level)
    return document


def with_path(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of `document` with `value` at a dotted path (`custom_objects.0.model`)."""
    result = copy.deepcopy(document)
    *parents, last = path.split(".")
    node: Any = result
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    key: Any = int(last) if isinstance(node, list) else last
    if value is DELETE:
        del node[key]
    else:
        node[key] = value
    return result


def a_version(ts: int = 1_700_000_000_000, number: int = 1, sequence: int = 0) -> Version:
    return Version(commit_ts=ts, commit_number=number, sequence=sequence)


def a_change(**overrides: Any) -> SalesforceChange:
    values: dict[str, Any] = {
        "tenant": "acme",
        "object": "Account",
        "record_id": "001000000000001AAA",
        "change_type": ChangeType.UPDATE,
        "version": a_version(),
        "fields": {"Name": "Acme Corp", "BillingCity": "Paris"},
        "changed_fields": ["Name", "BillingCity"],
    }
    return SalesforceChange(**(values | overrides))


def an_upsert(**overrides: Any) -> GatherUpsert:
    version = overrides.pop("version", a_version())
    traits = overrides.pop("traits", {"name": "Acme Corp"})
    values: dict[str, Any] = {
        "tenant": "acme",
        "kind": EntityKind.ACCOUNT,
        "sf_id": "001000000000001AAA",
        "op": Operation.UPSERT,
        "version": version,
        "gather_id": "acct-1",
        "traits": traits,
        "trait_versions": dict.fromkeys(traits, version),
    }
    return GatherUpsert(**(values | overrides))


def org_types(tenant: str = "", obj: str = "") -> dict[str, str]:
    """Describe types of an object in sfsim's standard org (Account, Contact, Opportunity, ...),
    as the listener publishes them to `sf.schemas`; {} for an object the org lacks. Its
    signature fits `Evaluator.types` (the tenant is ignored: every tenant has the standard org)."""
    from sfsim.metadata import standard_schema

    found = standard_schema().get(obj)
    return found.types() if found else {}


def state_of(
    *changes: tuple[ChangeType, int, dict[str, Any]],
    obj: str = "Account",
    record_id: str = "001Dn0000000001IAA",
) -> RecordState:
    """A record's merged state after (change type, commit time, fields) changes, tenant acme."""
    built = [
        SalesforceChange(
            tenant="acme",
            object=obj,
            record_id=record_id,
            change_type=kind,
            version=Version(commit_ts=ts),
            fields=fields,
        )
        for kind, ts, fields in changes
    ]
    return merge_all(built)[f"acme:{obj}:{record_id}"]
