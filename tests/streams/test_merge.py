"""The merge is order-independent and never moves a field backwards (Hypothesis)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from schemas.changes import ChangeType, SalesforceChange
from schemas.tiebreak import wins
from schemas.versions import Version
from streams.merge import apply, as_plain, merge_all

RECORD = "001Dn0000000001IAA"

changes = st.builds(
    lambda kind, ts, number, fields: SalesforceChange(
        tenant="acme",
        object="Account",
        record_id=RECORD,
        change_type=kind,
        version=Version(commit_ts=ts, commit_number=number),
        fields={} if kind is ChangeType.DELETE else fields,
    ),
    st.sampled_from(list(ChangeType)),
    st.integers(1, 20),
    st.integers(0, 3),
    st.dictionaries(
        st.sampled_from(["Name", "Phone", "Industry"]),
        st.one_of(st.none(), st.text(max_size=3), st.integers(0, 9)),
        max_size=3,
    ),
)


@given(st.lists(changes, max_size=12), st.randoms())
def test_given_any_order_of_the_same_changes_then_the_state_is_the_same(
    batch: list[SalesforceChange], rnd: object
) -> None:
    shuffled = list(batch)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]

    assert merge_all(batch) == merge_all(shuffled)


@given(st.lists(changes, min_size=1, max_size=12))
def test_given_duplicates_then_the_state_is_as_if_each_came_once(
    batch: list[SalesforceChange],
) -> None:
    assert merge_all(batch) == merge_all(batch + batch[::-1])


@given(st.lists(changes, min_size=1, max_size=12), changes)
def test_given_an_older_change_replayed_then_no_field_moves_backwards(
    batch: list[SalesforceChange], old: SalesforceChange
) -> None:
    state = merge_all(batch)[f"acme:Account:{RECORD}"]
    after = apply(state, old)

    for name, current in state.fields.items():
        now = after.fields[name]
        # what the state held would not win over what it holds now (by the shared rule)
        assert not wins(current.value, current.version, now.value, now.version)


def test_given_a_delete_then_an_older_update_then_the_record_stays_deleted() -> None:
    delete = SalesforceChange(
        tenant="acme",
        object="Account",
        record_id=RECORD,
        change_type=ChangeType.DELETE,
        version=Version(commit_ts=10),
    )
    update = SalesforceChange(
        tenant="acme",
        object="Account",
        record_id=RECORD,
        change_type=ChangeType.UPDATE,
        version=Version(commit_ts=5),
        fields={"Name": "old"},
    )

    state = merge_all([delete, update])[f"acme:Account:{RECORD}"]

    assert as_plain(state) == {"deleted": True, "fields": {"Name": "old"}}
    assert state.version == Version(commit_ts=10)
