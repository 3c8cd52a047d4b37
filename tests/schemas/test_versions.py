"""Versions order every value; their stored text keeps that order."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from schemas.versions import Version

versions = st.builds(
    Version,
    commit_ts=st.integers(0, 10**15 - 1),
    commit_number=st.integers(0, 2**63 - 1),
    sequence=st.integers(0, 10**10 - 1),
)


@given(versions, versions)
def test_given_two_versions_when_encoded_then_text_order_is_version_order(
    a: Version, b: Version
) -> None:
    assert (a.encode() < b.encode()) == (a < b)
    assert (a.encode() == b.encode()) == (a == b)


@given(versions)
def test_given_a_version_when_encoded_and_decoded_then_it_is_unchanged(v: Version) -> None:
    assert Version.decode(v.encode()) == v


def test_given_a_snapshot_and_a_cdc_event_of_one_millisecond_then_the_cdc_event_wins() -> None:
    snapshot = Version(commit_ts=1_700_000_000_000)
    cdc = Version(commit_ts=1_700_000_000_000, commit_number=42, sequence=1)

    assert snapshot < cdc
