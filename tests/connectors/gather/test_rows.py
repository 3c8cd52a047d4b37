"""rows.merge (pure): any order of the same upserts, replayed or not, shapes the same row, the
deleted mark and its reason included."""

from __future__ import annotations

from functools import reduce
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.gather.rows import Row, merge
from schemas.gather import DeleteReason, GatherUpsert, Operation
from schemas.versions import Version
from tests.builders import an_upsert


def v(ts: int) -> Version:
    return Version(commit_ts=ts)


def fold(batch: list[GatherUpsert]) -> Row | None:
    return reduce(merge, batch, None)


changes = st.builds(
    lambda ts, op, name, reason: an_upsert(
        version=v(ts),
        op=op,
        traits={} if op is Operation.DELETE else {"name": name},
        delete_reason=reason if op is Operation.DELETE else None,
    ),
    st.integers(1, 4),
    st.sampled_from(list(Operation)),
    st.sampled_from(["a", "b"]),
    st.sampled_from([None, DeleteReason.DELETED, DeleteReason.ID_CHANGED]),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(changes, min_size=1, max_size=8), st.randoms())
def test_given_any_order_and_replays_of_the_same_upserts_then_merge_gives_one_row(
    batch: list[GatherUpsert], rnd: Any
) -> None:
    shuffled = list(batch)
    rnd.shuffle(shuffled)

    first, again = fold(batch), fold(shuffled + batch)

    assert first == again
    assert first is not None and (first.deleted_reason is not None) == first.deleted


@given(changes.filter(lambda u: u.op is Operation.DELETE))
def test_given_a_delete_on_nothing_then_the_row_carries_its_reason_or_deleted(
    delete: GatherUpsert,
) -> None:
    row = merge(None, delete)

    assert row.deleted and row.deleted_reason == (delete.delete_reason or "deleted")
