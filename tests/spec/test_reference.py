"""The reference agrees with the spec table: every hand-written case, row for row."""

from __future__ import annotations

import pytest

from tests.spec.builders import Case
from tests.spec.cases import CASES
from tests.spec.compare import differences
from tests.spec.reference import SpecError, expected, holds, snake_case


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_given_a_case_of_the_table_when_the_reference_runs_it_then_it_gives_the_rows_written_by_hand(
    case: Case,
) -> None:
    found = expected(case.config, case.types, case.steps, case.existing)

    assert differences(found.rows, case.expected) == [], case.guide
    assert found.no_id == case.no_id


def test_given_the_table_then_every_case_cites_a_rule_and_has_a_name_of_its_own() -> None:
    assert all(c.guide.strip() for c in CASES)
    assert len({c.name for c in CASES}) == len(CASES)


def test_given_the_table_then_every_operator_is_checked_on_every_type_it_fits() -> None:
    kinds = {"int": "number", "currency": "number", "double": "number", "percent": "number"}
    seen = set()
    for case in CASES:
        rule = (case.config.get("accounts") or {}).get("filter")
        for condition in rule["conditions"] if rule else []:
            field_type = case.types["Account"][condition["field"]]
            seen.add((kinds.get(field_type, field_type), condition["operator"]))
    any_type = {"equals", "not_equals", "in", "not_in", "is_empty", "is_not_empty"}
    ordered = {"gt", "gte", "lt", "lte"}
    text = {"contains", "not_contains", "starts_with", "ends_with"}
    wanted = {("boolean", op) for op in any_type}
    wanted |= {(t, op) for t in ("number", "date", "datetime") for op in any_type | ordered}
    wanted |= {(t, op) for t in ("picklist", "string") for op in any_type | text}
    assert wanted - seen == set()


@pytest.mark.parametrize(
    ("operator", "field_type"),
    [("gt", "picklist"), ("contains", "int"), ("lte", "boolean"), ("starts_with", "date")],
)
def test_given_an_operator_that_does_not_fit_the_type_when_judged_then_the_reference_refuses(
    operator: str, field_type: str
) -> None:
    with pytest.raises(SpecError, match="does not fit"):
        holds({"field": "F", "operator": operator, "value": "1"}, "1", field_type)


@pytest.mark.parametrize(
    ("api_name", "trait"),
    [
        ("NumberOfEmployees", "number_of_employees"),
        ("BillingAddress", "billing_address"),
        ("Tier__c", "tier_c"),
        ("SLAExpirationDate__c", "sla_expiration_date_c"),
        ("ns__Tier_Level__c", "ns_tier_level_c"),
        ("Address2__c", "address2_c"),
        ("Id", "id"),
    ],
)
def test_given_an_api_name_when_snake_cased_then_it_follows_the_documented_rule(
    api_name: str, trait: str
) -> None:
    assert snake_case(api_name) == trait
