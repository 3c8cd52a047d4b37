"""Salesforce API names become snake_case traits by one documented rule."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from schemas import names
from schemas.names import snake_case


@pytest.mark.parametrize(
    ("api_name", "trait"),
    [
        ("NumberOfEmployees", "number_of_employees"),
        ("BillingAddress", "billing_address"),
        ("YearStarted", "year_started"),
        ("Id", "id"),
        ("FirstName", "first_name"),
        ("AccountID", "account_id"),
        ("SLAExpirationDate__c", "sla_expiration_date_c"),
        ("Tier__c", "tier_c"),
        ("ns__Tier_Level__c", "ns_tier_level_c"),
        ("Phone", "phone"),
    ],
)
def test_given_an_api_name_when_converted_then_it_is_the_documented_trait(
    api_name: str, trait: str
) -> None:
    assert snake_case(api_name) == trait


def test_given_a_standard_and_a_custom_field_of_one_name_when_converted_then_they_differ() -> None:
    assert snake_case("Tier") != snake_case("Tier__c")


@given(st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,20}(__c)?", fullmatch=True))
def test_given_any_api_name_when_converted_then_the_trait_is_lowercase_and_idempotent(
    name: str,
) -> None:
    trait = snake_case(name)

    assert trait == trait.lower()
    assert "__" not in trait
    assert snake_case(trait) == trait


_PAIRS = {
    "tenant": (names.TenantId, names.WireTenantId),
    "field": (names.FieldName, names.WireFieldName),
    "sf_id": (names.SalesforceId, names.WireSalesforceId),
    "model": (names.ModelName, names.WireModelName),
    "trait": (names.TraitName, names.WireTraitName),
}
# Near misses: the names' own characters and the ones that break them ('-', ':', a newline).
_NAMEISH = st.text(alphabet="aZ09_-:\n", max_size=20) | st.from_regex(
    r"[A-Za-z][A-Za-z0-9_]{0,20}", fullmatch=True
)


@pytest.mark.parametrize("kind", sorted(_PAIRS))
@given(text=_NAMEISH)
def test_given_any_text_when_checked_as_a_name_and_as_a_wire_name_then_both_agree(
    kind: str, text: str
) -> None:
    checked, wire = (TypeAdapter(t) for t in _PAIRS[kind])

    assert _accepts(checked, text) == _accepts(wire, text)


def test_given_a_trailing_newline_when_checked_as_a_wire_name_then_it_is_refused() -> None:
    assert not _accepts(TypeAdapter(names.WireTraitName), "tier\n")


def _accepts(adapter: TypeAdapter[str], text: str) -> bool:
    try:
        adapter.validate_python(text)
    except ValidationError:
        return False
    return True
