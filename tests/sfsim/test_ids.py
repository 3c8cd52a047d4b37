"""Record ids: key prefixes and the 18-character case-safe suffix."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sfsim.ids import checksum_suffix, is_valid_id, make_id, to_18


def test_given_the_documented_15_character_id_then_the_18_character_form_matches() -> None:
    # The pair Salesforce's help uses to explain the suffix.
    assert to_18("0015000000Gv7qJ") == "0015000000Gv7qJAAR"


def test_given_a_counter_when_an_id_is_made_then_it_has_the_prefix_and_a_valid_suffix() -> None:
    record_id = make_id("003", 12345)

    assert record_id.startswith("003") and len(record_id) == 18
    assert is_valid_id(record_id)


@given(st.integers(1, 62**10 - 1))
def test_given_any_counter_then_ids_are_valid_and_distinct_from_the_next(counter: int) -> None:
    assert is_valid_id(make_id("001", counter))
    assert make_id("001", counter) != make_id("001", counter + 1)


def test_given_an_id_with_a_wrong_suffix_then_it_is_not_valid() -> None:
    good = make_id("001", 7)

    assert not is_valid_id(good[:15] + ("AAA" if good[15:] != "AAA" else "AAB"))
    assert checksum_suffix("abcdeABCDE12345") == "A5A"  # chunk 2 all upper case: 31
