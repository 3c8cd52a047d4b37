"""A tenant config checked against its org's describe: each row is a change to a config that
fits the org and the exact line the user must see (or none, for a change the org accepts)."""

from __future__ import annotations

import copy
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.loader import load_tenant_configs, validate_tenant_config
from schemas.org_check import check_against_org, objects_named, operators_for
from schemas.tenant import Operator, TenantConfig
from sfsim.metadata import load_schema
from tests.builders import DELETE, a_tenant_config, with_path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

_ADDRESS_PARTS = {
    "Street": "textarea",
    "City": "string",
    "State": "string",
    "PostalCode": "string",
    "Country": "string",
    "Latitude": "double",
    "Longitude": "double",
}
_ORG: dict[str, dict[str, str] | None] = {
    "Account": {
        "Id": "id",
        "Name": "string",
        "AccountNumber": "string",
        "Industry": "picklist",
        "NumberOfEmployees": "int",
        "AnnualRevenue": "currency",
        "CreatedDate": "datetime",
        "Gather_Id__c": "string",
        "Founded__c": "date",
        "Active__c": "boolean",
        "Share__c": "percent",
        "Site__c": "location",
        **{f"Billing{part}": kind for part, kind in _ADDRESS_PARTS.items()},
        "BillingAddress": "address",
        # ShippingAddress itself is left out, as OrgApi.field_types leaves compound parents out
        **{f"Shipping{part}": kind for part, kind in _ADDRESS_PARTS.items()},
    },
    "Contact": {"Id": "id", "Email": "email", "Title": "string", "AccountId": "reference"},
    "Opportunity": {"Id": "id", "AccountId": "reference", "IsWon": "boolean"},
    "Invoice__c": {"Id": "id", "Name": "string", "Status__c": "picklist"},
}


def an_org(**objects: dict[str, str] | None) -> dict[str, dict[str, str] | None]:
    """Describe types of an org fitting `a_tenant_config()`; an object given as None is absent,
    one given as a dict gains those fields."""
    org = copy.deepcopy(_ORG)
    for name, fields in objects.items():
        org[name] = None if fields is None else {**(org.get(name) or {}), **fields}
    return org


def a_config(path: str | None = None, value: Any = None) -> TenantConfig:
    document = a_tenant_config()
    return validate_tenant_config(with_path(document, path, value) if path else document)


def a_condition(field: str, operator: str, value: Any = DELETE) -> dict[str, Any]:
    condition = {"field": field, "operator": operator, "value": value}
    return condition if value is not DELETE else {"field": field, "operator": operator}


def account_filter(*conditions: dict[str, Any]) -> dict[str, Any]:
    return {"match": "all", "conditions": list(conditions)}


def problems(
    config: TenantConfig, org: dict[str, dict[str, str] | None] | None = None
) -> list[str]:
    describes = org if org is not None else an_org()
    in_org = [name for name, fields in describes.items() if fields is not None]
    return [str(p) for p in check_against_org(config, describes, in_org)]


REFUSED: list[tuple[str, str, Any, str]] = [
    (
        "id field in another case",
        "accounts.id_field",
        "Gather_ID__c",
        "tenant 'acme': accounts.id_field: no field 'Gather_ID__c' on Account; "
        "did you mean Gather_Id__c?",
    ),
    (
        "misspelt extra trait",
        "accounts.extra_traits",
        ["AnnualRevenu"],
        "tenant 'acme': accounts.extra_traits[0]: no field 'AnnualRevenu' on Account; "
        "did you mean AnnualRevenue?",
    ),
    (
        "extra trait like no real field",
        "contacts.extra_traits",
        ["Xyzzy"],
        "tenant 'acme': contacts.extra_traits[0]: no field 'Xyzzy' on Contact; its fields are "
        "listed in Setup > Object Manager > Contact > Fields & Relationships",
    ),
    (
        "misspelt filter field",
        "accounts.filter",
        account_filter(a_condition("NumberOfEmploye", "gte", 10)),
        "tenant 'acme': accounts.filter.conditions[0].field: no field 'NumberOfEmploye' on "
        "Account; did you mean NumberOfEmployees?",
    ),
    (
        "gt on a picklist",
        "accounts.filter",
        account_filter(a_condition("Industry", "gt", "Banking")),
        "tenant 'acme': accounts.filter.conditions[0].operator: 'gt' orders values, which does "
        "not fit Industry (picklist); use one of equals, not_equals, contains, not_contains, "
        "starts_with, ends_with, is_empty, is_not_empty, in, not_in",
    ),
    (
        "contains on a number",
        "accounts.filter",
        account_filter(a_condition("NumberOfEmployees", "contains", "10")),
        "tenant 'acme': accounts.filter.conditions[0].operator: 'contains' compares text, which "
        "does not fit NumberOfEmployees (int); use one of equals, not_equals, gt, gte, lt, lte, "
        "is_empty, is_not_empty, in, not_in",
    ),
    (
        "lte on a boolean",
        "accounts.filter",
        account_filter(a_condition("Active__c", "lte", 1)),
        "tenant 'acme': accounts.filter.conditions[0].operator: 'lte' orders values, which does "
        "not fit Active__c (boolean); use one of equals, not_equals, is_empty, is_not_empty, in, "
        "not_in",
    ),
    (
        "a word for a number",
        "accounts.filter",
        account_filter(a_condition("NumberOfEmployees", "gte", "ten")),
        "tenant 'acme': accounts.filter.conditions[0].value: 'ten' cannot be compared with "
        "NumberOfEmployees (int); write a number, e.g. 10 or 2500.50",
    ),
    (
        "true for a currency",
        "accounts.filter",
        account_filter(a_condition("AnnualRevenue", "equals", True)),
        "tenant 'acme': accounts.filter.conditions[0].value: True cannot be compared with "
        "AnnualRevenue (currency); write a number, e.g. 10 or 2500.50",
    ),
    (
        "a day written the European way",
        "accounts.filter",
        account_filter(a_condition("Founded__c", "lt", "31/01/2026")),
        "tenant 'acme': accounts.filter.conditions[0].value: '31/01/2026' cannot be compared "
        "with Founded__c (date); write a date like 2026-01-31 or a datetime with a zone like "
        "2026-01-31T09:00:00Z",
    ),
    (
        "a datetime without a zone",
        "accounts.filter",
        account_filter(a_condition("CreatedDate", "gte", "2026-01-31T09:00:00")),
        "tenant 'acme': accounts.filter.conditions[0].value: '2026-01-31T09:00:00' cannot be "
        "compared with CreatedDate (datetime); write a date like 2026-01-31 or a datetime with "
        "a zone like 2026-01-31T09:00:00Z",
    ),
    (
        "a year as a number for a date",
        "accounts.filter",
        account_filter(a_condition("Founded__c", "gte", 2020)),
        "tenant 'acme': accounts.filter.conditions[0].value: 2020 cannot be compared with "
        "Founded__c (date); write a date like 2026-01-31 or a datetime with a zone like "
        "2026-01-31T09:00:00Z",
    ),
    (
        "yes for a boolean",
        "accounts.filter",
        account_filter(a_condition("Active__c", "equals", "yes")),
        "tenant 'acme': accounts.filter.conditions[0].value: 'yes' cannot be compared with "
        "Active__c (boolean); write true or false",
    ),
    (
        "one bad element of a list",
        "accounts.filter",
        account_filter(a_condition("NumberOfEmployees", "in", [10, "a dozen", 50])),
        "tenant 'acme': accounts.filter.conditions[0].value[1]: 'a dozen' cannot be compared "
        "with NumberOfEmployees (int); write a number, e.g. 10 or 2500.50",
    ),
    (
        "a filter on an address",
        "accounts.filter",
        account_filter(a_condition("BillingAddress", "is_empty")),
        "tenant 'acme': accounts.filter.conditions[0].field: 'BillingAddress' is a compound "
        "address field, whose value arrives only in its parts, so it cannot be filtered; use one "
        "of its parts: BillingStreet, BillingCity, BillingState, BillingPostalCode, "
        "BillingCountry, BillingLatitude, BillingLongitude",
    ),
    (
        "an address left out of describe as the id field",
        "accounts.id_field",
        "ShippingAddress",
        "tenant 'acme': accounts.id_field: 'ShippingAddress' is a compound address field, whose "
        "value arrives only in its parts, so it cannot hold the Gather id; use one of its parts: "
        "ShippingStreet, ShippingCity, ShippingState, ShippingPostalCode, ShippingCountry, "
        "ShippingLatitude, ShippingLongitude",
    ),
    (
        "a geolocation as a trait",
        "accounts.extra_traits",
        ["Site__c"],
        "tenant 'acme': accounts.extra_traits[0]: 'Site__c' is a compound location field, whose "
        "value arrives only in its parts, so it cannot be a trait; use one of its parts (its "
        "latitude and longitude fields)",
    ),
    (
        "misspelt custom object",
        "custom_objects.0.object",
        "Invoices__c",
        "tenant 'acme': custom_objects[0].object: no object 'Invoices__c' in the org; "
        "did you mean Invoice__c?",
    ),
    (
        "custom object id field missing",
        "custom_objects.0.id_field",
        "Number__c",
        "tenant 'acme': custom_objects[0].id_field: no field 'Number__c' on Invoice__c; its "
        "fields are listed in Setup > Object Manager > Invoice__c > Fields & Relationships",
    ),
    (
        "custom object filter field misspelt",
        "custom_objects.0.filter",
        account_filter(a_condition("Stat__c", "equals", "Paid")),
        "tenant 'acme': custom_objects[0].filter.conditions[0].field: no field 'Stat__c' on "
        "Invoice__c; did you mean Status__c?",
    ),
]


@pytest.mark.parametrize(
    ("case", "path", "value", "expected"), REFUSED, ids=[c[0] for c in REFUSED]
)
def test_given_a_config_naming_what_the_org_lacks_when_checked_then_the_problem_is_named(
    case: str, path: str, value: Any, expected: str
) -> None:
    assert problems(a_config(path, value)) == [expected]


ACCEPTED: list[tuple[str, str, Any]] = [
    (
        "gte on a date with a day",
        "accounts.filter",
        account_filter(a_condition("Founded__c", "gte", "2020-01-01")),
    ),
    (
        "lt on a datetime with an offset",
        "accounts.filter",
        account_filter(a_condition("CreatedDate", "lt", "2026-01-31T09:00:00+01:00")),
    ),
    (
        "a day for a datetime",
        "accounts.filter",
        account_filter(a_condition("CreatedDate", "gte", "2026-01-31")),
    ),
    (
        "gt on a currency",
        "accounts.filter",
        account_filter(a_condition("AnnualRevenue", "gt", 999999.5)),
    ),
    (
        "a number in quotes",
        "accounts.filter",
        account_filter(a_condition("Share__c", "lte", "12.5")),
    ),
    (
        "TRUE for a boolean",
        "accounts.filter",
        account_filter(a_condition("Active__c", "equals", "TRUE")),
    ),
    (
        "in on a picklist",
        "accounts.filter",
        account_filter(a_condition("Industry", "in", ["Banking"])),
    ),
    (
        "is_empty on a boolean",
        "accounts.filter",
        account_filter(a_condition("Active__c", "is_empty")),
    ),
    (
        "starts_with on an email",
        "contacts.filter",
        account_filter(a_condition("Email", "ends_with", "@acme.com")),
    ),
    ("an address as a trait", "accounts.extra_traits", ["ShippingAddress"]),
    ("the record id as the id field", "accounts.id_field", "Id"),
]


@pytest.mark.parametrize(("case", "path", "value"), ACCEPTED, ids=[c[0] for c in ACCEPTED])
def test_given_a_config_that_fits_the_org_when_checked_then_nothing_is_refused(
    case: str, path: str, value: Any
) -> None:
    assert problems(a_config(path, value)) == []


def test_given_closed_won_only_and_no_opportunity_object_when_checked_then_it_is_named() -> None:
    config = a_config("accounts.closed_won_only", True)

    assert problems(config, an_org(Opportunity=None)) == [
        "tenant 'acme': accounts.closed_won_only: no object 'Opportunity' in the org; "
        "check its API name (a custom object's ends in __c) and that the integration user may "
        "read it"
    ]


def test_given_an_absent_object_when_checked_then_its_fields_are_not_reported_too() -> None:
    config = a_config("custom_objects.0.filter", account_filter(a_condition("Nope__c", "is_empty")))

    assert [p.path for p in check_against_org(config, an_org(Invoice__c=None))] == [
        "custom_objects[0].object"
    ]


def test_given_several_problems_when_checked_then_each_is_reported_in_config_order() -> None:
    document = with_path(a_tenant_config(), "accounts.extra_traits", ["Nope", "AccountNumber"])
    document = with_path(document, "custom_objects.0.id_field", "Nope__c")
    document = with_path(
        document,
        "accounts.filter",
        account_filter(a_condition("Industry", "gte", "B"), a_condition("Rating", "is_empty")),
    )

    found = check_against_org(validate_tenant_config(document), an_org())

    assert [(p.tenant, p.path) for p in found] == [
        ("acme", "accounts.extra_traits[0]"),
        ("acme", "accounts.filter.conditions[0].operator"),
        ("acme", "accounts.filter.conditions[1].field"),
        ("acme", "custom_objects[0].id_field"),
    ]


def test_given_a_config_when_asked_what_to_describe_then_every_synced_object_is_named() -> None:
    config = a_config("accounts.closed_won_only", True)

    assert objects_named(config) == ["Account", "Opportunity", "Contact", "Invoice__c"]


def test_given_the_example_config_and_sfsim_with_its_schema_then_it_fits_the_org() -> None:
    (config,) = load_tenant_configs(EXAMPLES / "tenant-acme.yaml")
    org = load_schema(EXAMPLES / "sfsim-acme-schema.yaml")
    describes = {
        name: (o.types() if (o := org.get(name)) else None) for name in objects_named(config)
    }

    assert check_against_org(config, describes) == []


def test_given_the_example_config_and_sfsim_standard_org_then_its_custom_names_are_refused() -> (
    None
):
    (config,) = load_tenant_configs(EXAMPLES / "tenant-acme.yaml")
    org = load_schema(None)
    describes = {
        name: (o.types() if (o := org.get(name)) else None) for name in objects_named(config)
    }

    assert [p.path for p in check_against_org(config, describes)] == [
        "accounts.id_field",
        "accounts.extra_traits[1]",
        "custom_objects[0].object",
    ]


# --- invariants --------------------------------------------------------------------------------

NUMBER_FIELDS = ("NumberOfEmployees", "AnnualRevenue", "Share__c")
finite = st.floats(allow_nan=False, allow_infinity=False)


def _value_problems(field: str, operator: str, value: Any) -> list[str]:
    config = a_config("accounts.filter", account_filter(a_condition(field, operator, value)))
    return [p.path for p in check_against_org(config, an_org())]


@given(field=st.sampled_from(NUMBER_FIELDS), value=st.integers() | finite)
def test_given_any_number_for_a_number_field_then_it_is_accepted(field: str, value: float) -> None:
    assert _value_problems(field, "gte", value) == []


@given(value=st.text().filter(lambda t: not _is_float(t)))
def test_given_text_that_is_no_number_for_a_number_field_then_it_is_refused(value: str) -> None:
    assert _value_problems("NumberOfEmployees", "equals", value) == [
        "accounts.filter.conditions[0].value"
    ]


@given(moment=st.datetimes(timezones=st.timezones()) | st.dates())
def test_given_any_iso_date_or_zoned_datetime_then_date_fields_accept_it(
    moment: datetime | date,
) -> None:
    assert _value_problems("CreatedDate", "lt", moment.isoformat()) == []
    assert _value_problems("Founded__c", "gte", moment.isoformat()) == []


@given(field_type=st.sampled_from(["int", "date", "boolean", "picklist", "time", "address"]))
def test_given_any_type_then_emptiness_and_equality_always_fit(field_type: str) -> None:
    fitting = set(operators_for(field_type))

    assert {Operator.IS_EMPTY, Operator.IS_NOT_EMPTY, Operator.EQUALS, Operator.IN} <= fitting


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
