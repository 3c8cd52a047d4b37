"""Header bitmaps decode to field names by the Pub/Sub guide's rule.

The oracles are written by hand, never computed by the decoder:
- the guide's printed example `['0x650004E0', '4-0x10', '7-0x06']` (it prints no schema, so the
  expected names are the positions read off the hex by hand, on a schema of named positions);
- three change events captured from a real org (a public repository's recordings, with the
  Account schema they were read with: the non-null values sit at exactly these positions).
https://developer.salesforce.com/docs/platform/pub-sub-api/guide/event-deserialization-considerations.html
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.salesforce.errors import NormalizeError
from connectors.salesforce.pubsub.bitmap import SchemaIndex, field_names

ADDRESS: dict[str, Any] = {
    "type": "record",
    "name": "Address",
    "fields": [
        {"name": n, "type": ["null", "string"]}
        for n in ("Street", "City", "State", "PostalCode", "Country", "StateCode", "CountryCode")
    ]
    + [{"name": n, "type": ["null", "double"]} for n in ("Latitude", "Longitude")]
    + [{"name": "GeocodeAccuracy", "type": ["null", "string"]}],
}


def positions_schema(size: int, compound_at: dict[int, int]) -> dict[str, Any]:
    """Top-level fields named f0, f1, ...; the ones in `compound_at` are records of that many
    children named c0, c1, ..."""

    def field(i: int) -> dict[str, Any]:
        if i not in compound_at:
            return {"name": f"f{i}", "type": ["null", "string"]}
        children = [{"name": f"c{j}", "type": ["null", "string"]} for j in range(compound_at[i])]
        return {
            "name": f"f{i}",
            "type": ["null", {"type": "record", "name": f"R{i}", "fields": children}],
        }

    return {"type": "record", "name": "E", "fields": [field(i) for i in range(size)]}


def account_schema() -> dict[str, Any]:
    """The captured Account schema's positions that the recordings use (0-7, 21-24, 68); the
    others are placeholders of the same places."""
    names = {0: "ChangeEventHeader", 1: "Name", 2: "Type", 3: "RecordTypeId", 4: "ParentId"}
    names |= {7: "Phone", 21: "CreatedDate", 22: "CreatedById", 23: "LastModifiedDate"}
    names |= {24: "LastModifiedById", 68: "Amount_Owed__c"}
    fields: list[dict[str, Any]] = [
        {"name": names.get(i, f"Other{i}"), "type": ["null", "string"]} for i in range(70)
    ]
    fields[5] = {"name": "BillingAddress", "type": ["null", ADDRESS]}
    fields[6] = {"name": "ShippingAddress", "type": ["null", "Address"]}  # by name, as captured
    return {"type": "record", "name": "AccountChangeEvent", "fields": fields}


def test_given_the_guides_example_when_decoded_then_the_positions_are_the_ones_read_by_hand() -> (
    None
):
    # 0x650004E0 = 0110 0101 0000 0000 0000 0100 1110 0000: bits 5, 6, 7, 10, 24, 26, 29, 30
    schema = positions_schema(32, {4: 6, 7: 3})

    names = field_names(["0x650004E0", "4-0x10", "7-0x06"], SchemaIndex.of(schema))

    assert names == ["f5", "f6", "f7", "f10", "f24", "f26", "f29", "f30", "f4.c4", "f7.c1", "f7.c2"]


@pytest.mark.parametrize(
    ("bitmaps", "expected"),
    [
        (["0x800000", "6-0x01"], ["LastModifiedDate", "ShippingAddress.Street"]),
        (["6-0x0180"], ["ShippingAddress.Latitude", "ShippingAddress.Longitude"]),
        (["0x100000000000800000"], ["LastModifiedDate", "Amount_Owed__c"]),
    ],
)
def test_given_a_captured_account_update_when_decoded_then_it_names_the_fields_that_held_values(
    bitmaps: list[str], expected: list[str]
) -> None:
    assert field_names(bitmaps, SchemaIndex.of(account_schema())) == expected


def test_given_every_child_of_a_compound_when_decoded_then_each_child_is_named() -> None:
    # the CometD path lists children; the normalizer flattens children, not compounds
    names = field_names(["5-0x03FF"], SchemaIndex.of(account_schema()))

    assert names == [f"BillingAddress.{f['name']}" for f in ADDRESS["fields"]]


def test_given_no_bitmap_when_decoded_then_no_field() -> None:
    assert field_names([], SchemaIndex.of(account_schema())) == []


@pytest.mark.parametrize(
    ("bitmap", "reason"),
    [
        ("0xZZ", "is not a hex number"),
        ("650004E0", "is not a hex number"),
        ("0x" + "8" + "0" * 18, "past the schema's 70"),
        ("99-0x01", "no top-level field at position '99'"),
        ("2-0x01", "not compound"),
        ("5-0x0400", "past the schema's 10"),
    ],
)
def test_given_a_malformed_bitmap_when_decoded_then_the_error_says_what_is_wrong(
    bitmap: str, reason: str
) -> None:
    with pytest.raises(NormalizeError, match=reason):
        field_names([bitmap], SchemaIndex.of(account_schema()))


def test_given_a_field_that_is_not_compound_when_its_children_are_asked_then_the_error_names_the_field() -> (
    None
):
    index = SchemaIndex.of(account_schema())

    with pytest.raises(NormalizeError, match="field 'Name' is not a compound field"):
        index.children_of("Name")


def test_given_an_address_named_again_by_name_then_its_children_are_those_of_its_definition() -> (
    None
):
    index = SchemaIndex.of(account_schema())

    shipping = [c["name"] for c in index.children_of("ShippingAddress")]

    assert shipping == [c["name"] for c in ADDRESS["fields"]]


@given(st.sets(st.integers(min_value=0, max_value=129)))
def test_given_any_set_of_positions_when_written_as_hex_then_exactly_those_are_named(
    positions: set[int],
) -> None:
    # more than 64 fields: the number just grows (the captured 72-bit example above)
    hex_digits = f"{sum(1 << p for p in positions):X}"
    schema = positions_schema(130, {})

    names = field_names(
        [f"0x{hex_digits.zfill(len(hex_digits) + len(hex_digits) % 2)}"], SchemaIndex.of(schema)
    )

    assert names == [f"f{p}" for p in sorted(positions)]
