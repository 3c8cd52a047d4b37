"""The worker's stored record states read back as written, in the compact form and the old one
(Hypothesis over states merged from any changes)."""

from __future__ import annotations

import json
import tracemalloc

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.changes import SalesforceChange
from streams import state_codec
from streams.merge import RecordState, merge_all
from tests.streams.test_merge import changes


@given(st.lists(changes, min_size=1, max_size=12))
def test_given_any_merged_state_then_it_reads_back_equal_and_shorter_than_its_model_json(
    made: list[SalesforceChange],
) -> None:
    (state,) = merge_all(made).values()

    stored = state_codec.encode(state)

    assert state_codec.decode(stored) == state
    assert len(stored) < len(state.model_dump_json())


@given(st.lists(changes, min_size=1, max_size=12))
def test_given_a_state_stored_as_model_json_before_then_it_still_reads(
    made: list[SalesforceChange],
) -> None:
    (state,) = merge_all(made).values()

    assert state_codec.decode(state.model_dump_json().encode()) == state


def test_given_the_compact_form_then_each_field_keeps_its_value_and_version() -> None:
    stored = (
        b'[1,"acme","Account","001Dn0000000001IAA",{"Name":["Acme",5,2,1],"Phone":[null,5,2,1]},'
        b"[false,3,0,0],[2,0,0]]"
    )

    state = state_codec.decode(stored)

    assert (state.tenant, state.object, state.record_id) == (
        "acme",
        "Account",
        "001Dn0000000001IAA",
    )
    assert state.values() == {"Name": "Acme", "Phone": None}
    assert state.fields["Name"].version.as_tuple() == (5, 2, 1)
    assert state.deleted is not None and state.deleted.version.as_tuple() == (3, 0, 0)
    assert not state.is_deleted
    assert state.last_delete is not None and state.last_delete.as_tuple() == (2, 0, 0)


def test_given_an_integer_beyond_64_bits_then_it_is_kept() -> None:
    state = RecordState.model_validate(
        {"tenant": "acme", "object": "Account", "record_id": "001Dn0000000001IAA",
         "fields": {"Big": {"value": 2**70, "version": {"commit_ts": 1}}}}
    )  # fmt: skip

    assert state_codec.decode(state_codec.encode(state)).fields["Big"].value == 2**70


def test_given_an_unknown_format_then_reading_it_fails_with_the_format() -> None:
    with pytest.raises(ValueError, match="format 2"):
        state_codec.decode(json.dumps([2, "acme", "Account", "x", {}, None, None]).encode())


def test_given_many_states_kept_then_each_holds_about_its_length_in_memory() -> None:
    """orjson's own output holds a 4 KiB buffer; a table of a million states would hold 4 GiB."""
    (state,) = merge_all([_a_change()]).values()
    tracemalloc.start()
    try:
        kept = [state_codec.encode(state) for _ in range(1000)]
        held = tracemalloc.get_traced_memory()[0] / len(kept)
    finally:
        tracemalloc.stop()

    assert held < 2 * len(kept[0]) + 100


def _a_change() -> SalesforceChange:
    return SalesforceChange(
        tenant="acme", object="Account", record_id="001Dn0000000001IAA", change_type="CREATE",
        version={"commit_ts": 1}, fields={f"Field{n}": "value" for n in range(12)},
    )  # fmt: skip
