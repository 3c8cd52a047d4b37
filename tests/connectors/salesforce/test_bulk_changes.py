"""Bulk CSV pages -> sf.changes messages: the same bytes as the per-record models give."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.salesforce.bulk_changes import page_messages
from connectors.salesforce.errors import SalesforceApiError
from connectors.salesforce.orgapi import typed
from connectors.salesforce.snapshots import row_change
from schemas.changes import ChangeSource, SalesforceChange

TYPES = {
    "Id": "id",
    "IsDeleted": "boolean",
    "SystemModstamp": "datetime",
    "Name": "string",
    "NumberOfEmployees": "int",
    "AnnualRevenue": "currency",
    "Rating__c": "double",
    "Active__c": "boolean",
    "LastActivityDate": "date",
    "CreatedDate": "datetime",
    "Notes": "textarea",
}


def a_page(header: list[str], rows: list[list[str]]) -> str:
    """As sfsim (and Salesforce) write Bulk results: a header, every value quoted, LF."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def per_record(tenant: str, obj: str, page: str) -> list[tuple[str, bytes]]:
    """The backfill's former path: DictReader, `typed`, `row_change`, `model_dump_json`."""
    out = []
    for row in csv.DictReader(io.StringIO(page)):
        values = {name: typed(TYPES.get(name, "string"), text) for name, text in row.items()}
        change = row_change(tenant, obj, values, ChangeSource.BACKFILL)
        out.append((change.key, change.model_dump_json().encode()))
    return out


EPOCH_ON = datetime(1971, 1, 1)  # noqa: DTZ001 (Hypothesis takes naive bounds; the texts say +0000)
datetimes = st.datetimes(min_value=EPOCH_ON).map(
    lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.") + "123+0000"
)
texts = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00\r"))
CELLS: dict[str, st.SearchStrategy[str]] = {
    "Id": st.from_regex(r"001[A-Za-z0-9]{15}", fullmatch=True),
    "IsDeleted": st.sampled_from(["true", "false", "TRUE", ""]),
    "SystemModstamp": datetimes,
    "Name": texts | datetimes,  # a text that looks like a datetime takes the event form too
    "NumberOfEmployees": st.integers(-(2**40), 2**40).map(str) | st.just(""),
    "AnnualRevenue": st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr)
    | st.integers(0, 10**12).map(lambda n: f"{n}.0"),
    "Rating__c": st.floats(-1e6, 1e6).map(str) | st.just(""),
    "Active__c": st.sampled_from(["true", "false", ""]),
    "LastActivityDate": st.dates().map(str) | st.just(""),
    "CreatedDate": datetimes | st.just(""),
    "Notes": texts,
}


@st.composite
def pages(draw: Any) -> tuple[list[str], list[list[str]]]:
    optional = [n for n in CELLS if n not in ("Id", "SystemModstamp")]
    chosen = draw(st.lists(st.sampled_from(optional), unique=True))
    header = draw(st.permutations(["Id", "SystemModstamp", *chosen]))
    rows = draw(st.lists(st.tuples(*(CELLS[n] for n in header)).map(list), max_size=8))
    return header, rows


@settings(max_examples=300, deadline=None)
@given(pages())
def test_given_any_bulk_page_then_the_messages_are_byte_equal_to_the_per_record_models(
    page: tuple[list[str], list[list[str]]],
) -> None:
    text = a_page(*page)

    fast = list(page_messages("acme", "Account", text, TYPES))

    assert fast == per_record("acme", "Account", text)
    for _, value in fast:
        SalesforceChange.model_validate_json(value)  # and each is a valid change


def test_given_a_deleted_row_then_it_is_a_delete_without_fields() -> None:
    text = a_page(
        ["Id", "IsDeleted", "SystemModstamp", "Name"],
        [["001Dn000000000001A", "true", "2026-11-28T12:00:00.000+0000", "Gone"]],
    )

    [(key, value)] = page_messages("acme", "Account", text, TYPES)

    change = SalesforceChange.model_validate_json(value)
    assert key == "acme:Account:001Dn000000000001A"
    assert change.change_type.value == "DELETE" and change.fields == {}
    assert change.version.commit_ts == 1_795_867_200_000


def test_given_a_row_with_a_bad_id_then_the_error_names_the_tenant_and_object() -> None:
    text = a_page(["Id", "SystemModstamp"], [["not-an-id", "2026-11-28T12:00:00.000+0000"]])

    with pytest.raises(SalesforceApiError, match="tenant 'acme': a Bulk row of Account"):
        list(page_messages("acme", "Account", text, TYPES))


def test_given_a_short_row_then_it_is_refused_not_filled_with_nulls() -> None:
    text = a_page(
        ["Id", "SystemModstamp", "Name"], [["001Dn000000000001A", "2026-11-28T12:00:00Z"]]
    )

    with pytest.raises(SalesforceApiError, match="2 cells where the header has 3"):
        list(page_messages("acme", "Account", text, TYPES))


def test_given_a_header_without_systemmodstamp_then_no_version_can_be_given() -> None:
    with pytest.raises(SalesforceApiError, match="no SystemModstamp column"):
        list(page_messages("acme", "Account", a_page(["Id", "Name"], []), TYPES))


def test_given_a_field_name_a_change_may_not_carry_then_the_page_is_refused() -> None:
    text = a_page(["Id", "SystemModstamp", "Bad-Name"], [])

    with pytest.raises(SalesforceApiError, match="a name a change may not carry"):
        list(page_messages("acme", "Account", text, TYPES))
