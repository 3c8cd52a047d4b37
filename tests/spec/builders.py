"""Builders of the spec table: records shaped like sfsim's rows, tenant configs as the plain dicts
of their YAML, and the rows a case expects in the Gather store, all for one tenant (`acme`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.spec.reference import Key, Record, Row, Step, Types

TENANT = "acme"
Rec = tuple[str, dict[str, Any]]  # (object, record)

# The describe types of the org the cases run against (what sfsim's describe would say).
TYPES: Types = {
    "Account": {
        "Id": "id",
        "IsDeleted": "boolean",
        "Name": "string",
        "AccountNumber": "string",
        "Phone": "phone",
        "Description": "textarea",
        "Industry": "picklist",
        "BillingStreet": "textarea",
        "BillingCity": "string",
        "BillingState": "string",
        "BillingPostalCode": "string",
        "BillingCountry": "string",
        "Website": "url",
        "YearStarted": "string",
        "NumberOfEmployees": "int",
        "AnnualRevenue": "currency",
        "Rating": "picklist",
        "Gather_Id__c": "string",
        "Tier__c": "picklist",
        "Score__c": "double",
        "Share__c": "percent",
        "SLAExpirationDate__c": "date",
        "LastSeen__c": "datetime",
        "Active__c": "boolean",
    },
    "Contact": {
        "Id": "id",
        "IsDeleted": "boolean",
        "AccountId": "reference",
        "FirstName": "string",
        "LastName": "string",
        "Email": "email",
        "Phone": "phone",
        "Title": "string",
        "Department": "string",
        "Birthdate": "date",
    },
    "Opportunity": {
        "Id": "id",
        "IsDeleted": "boolean",
        "AccountId": "reference",
        "Name": "string",
        "StageName": "picklist",
        "IsWon": "boolean",
        "Amount": "currency",
    },
    "Invoice__c": {
        "Id": "id",
        "IsDeleted": "boolean",
        "Name": "string",
        "Number__c": "string",
        "Status__c": "picklist",
        "Amount__c": "currency",
        "Due__c": "date",
        "Paid__c": "boolean",
    },
}


@dataclass(frozen=True)
class Case:
    """One rule of the guide, checked: the config and the org's history in, the store out.

    `expected` is written by hand: the table is the spec, the reference must agree with it, and
    the product must agree with both. `no_id` names the live records skipped at the end because
    their id field is empty (the guide: skipped and counted)."""

    name: str
    guide: str
    config: Mapping[str, Any]
    steps: list[Step]
    expected: dict[Key, Row]
    existing: Mapping[str, list[dict[str, Any]]] = field(default_factory=dict)
    no_id: frozenset[tuple[str, str]] = frozenset()
    types: Types = field(default_factory=lambda: TYPES)

    @property
    def tenant(self) -> str:
        return str(self.config["tenant"])


# --- Salesforce records -----------------------------------------------------------------------


def sf_id(prefix: str, n: int) -> str:
    """An 18-character Salesforce id: `001000000000001AAA` is Account number 1."""
    return f"{prefix}{n:012d}AAA"


def acc(n: int) -> str:
    return sf_id("001", n)


def con(n: int) -> str:
    return sf_id("003", n)


def opp(n: int) -> str:
    return sf_id("006", n)


def inv(n: int) -> str:
    return sf_id("a00", n)


def account(n: int, **fields: Any) -> Rec:
    return "Account", {"Id": acc(n), "IsDeleted": False} | fields


def contact(n: int, **fields: Any) -> Rec:
    return "Contact", {"Id": con(n), "IsDeleted": False} | fields


def deal(n: int, account_n: int | None, stage: str, **fields: Any) -> Rec:
    """An opportunity; IsWon is what Salesforce derives from the stage."""
    won = stage == "Closed Won"
    values = {"AccountId": acc(account_n) if account_n else None, "StageName": stage, "IsWon": won}
    return "Opportunity", {"Id": opp(n), "IsDeleted": False, "Name": f"Deal {n}"} | values | fields


def invoice(n: int, **fields: Any) -> Rec:
    return "Invoice__c", {"Id": inv(n), "IsDeleted": False} | fields


def deleted(rec: Rec) -> Rec:
    """The record in the Recycle Bin (its fields unchanged, as a delete leaves them)."""
    return rec[0], rec[1] | {"IsDeleted": True}


def step(*recs: Rec, config: Mapping[str, Any] | None = None) -> Step:
    records: dict[str, list[Record]] = {}
    for obj, record in recs:
        records.setdefault(obj, []).append(record)
    return Step(records, config)


# --- tenant configs ---------------------------------------------------------------------------


def tenant(
    accounts: dict[str, Any] | None = None,
    contacts: dict[str, Any] | None = None,
    custom_objects: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "tenant": TENANT,
        "salesforce": {
            "instance_url": "https://acme.my.salesforce.com",
            "auth": {
                "flow": "client_credentials",
                "client_id": "3MVGacme",
                "client_secret": {"env": "ACME_SF_SECRET"},
            },
        },
    }
    sections = {"accounts": accounts, "contacts": contacts, "custom_objects": custom_objects}
    return document | {k: v for k, v in sections.items() if v is not None}


def create(id_field: str, **more: Any) -> dict[str, Any]:
    """A section that creates a Gather entity per record, its id from `id_field`."""
    return {"sync_mode": "create_new", "id_field": id_field} | more


def update(match_trait: str, **more: Any) -> dict[str, Any]:
    """A section that only updates Gather entities whose `match_trait` holds the record's Id."""
    return {"sync_mode": "update_existing", "match_trait": match_trait} | more


def custom(obj: str, id_field: str, model: str, **more: Any) -> dict[str, Any]:
    return {"object": obj, "id_field": id_field, "model": model} | more


def where(field_name: str, operator: str, value: Any = None) -> dict[str, Any]:
    condition = {"field": field_name, "operator": operator}
    return condition if operator in ("is_empty", "is_not_empty") else condition | {"value": value}


def all_of(*conditions: dict[str, Any]) -> dict[str, Any]:
    return {"match": "all", "conditions": list(conditions)}


def any_of(*conditions: dict[str, Any]) -> dict[str, Any]:
    return {"match": "any", "conditions": list(conditions)}


# --- expected rows ----------------------------------------------------------------------------


def _entity(sf: str | None, traits: dict[str, Any], deleted: str | None) -> Row:
    """`deleted` is the reason (`deleted`, `id_changed`) of a row marked deleted."""
    return {"sf_id": sf, "traits": traits, "deleted": deleted is not None, "delete_reason": deleted}


def account_row(
    gather_id: str, sf: str | None, traits: dict[str, Any], deleted: str | None = None
) -> tuple[Key, Row]:
    return ("accounts", TENANT, "", gather_id), _entity(sf, traits, deleted)


def user_row(
    gather_id: str,
    sf: str | None,
    traits: dict[str, Any],
    sf_account: str | None = None,
    account: str | None = None,
    deleted: str | None = None,
) -> tuple[Key, Row]:
    link = {"sf_account_id": sf_account, "account_id": account}
    return ("users", TENANT, "", gather_id), _entity(sf, traits, deleted) | link


def record_row(
    model: str, gather_id: str, sf: str, traits: dict[str, Any], deleted: str | None = None
) -> tuple[Key, Row]:
    return ("records", TENANT, model, gather_id), _entity(sf, traits, deleted)


def model_row(name: str, obj: str, id_field: str) -> tuple[Key, Row]:
    return ("models", TENANT, "", name), {"object": obj, "id_field": id_field}


def rows(*pairs: tuple[Key, Row]) -> dict[Key, Row]:
    found = dict(pairs)
    assert len(found) == len(pairs), "a row is expected twice"
    return found
