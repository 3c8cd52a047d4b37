"""One last-writer-wins rule for the worker and the sink (Hypothesis): any order of the same
writes keeps one value, the worker's `streams.merge` and the sink's `rows.merge` keep the same
one, and PostgreSQL's jsonb giving a value back in its own form changes neither."""

from __future__ import annotations

from collections.abc import Iterator
from functools import reduce
from random import Random
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from psycopg.types.json import Jsonb
from sqlalchemy import Connection

from connectors.gather import rows
from connectors.gather.engine import make_engine
from schemas.changes import ChangeType, SalesforceChange
from schemas.gather import GatherUpsert
from schemas.tiebreak import tie_key, wins
from schemas.versions import Version
from streams.merge import merge_all
from tests.builders import a_change, an_upsert

# few versions, so that most lists hold ties
versions = st.builds(Version, commit_ts=st.integers(1, 3), commit_number=st.integers(0, 1))
# what jsonb stores: no NUL, no lone surrogate, no NaN or infinity
texts = st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]))
stored_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    texts,
)
json_values = st.recursive(
    stored_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=6,
)
# a Salesforce field's values (the worker's FieldValue), NaN and infinities included
field_values = st.one_of(stored_scalars, st.floats())
# a trait's values as an upsert carries them (a value or an object of values)
trait_values = stored_scalars | st.dictionaries(texts, stored_scalars, max_size=3)

Write = tuple[Any, Version]


def kept(writes: list[Write]) -> Write | None:
    """The write the rule keeps, folding `writes` in their order."""
    held: Write | None = None
    for value, version in writes:
        if held is None or wins(value, version, held[0], held[1]):
            held = (value, version)
    return held


def shuffled(writes: list[Write], seed: int) -> list[Write]:
    order = list(writes)
    Random(seed).shuffle(order)
    return order


@given(st.lists(st.tuples(field_values, versions), min_size=1, max_size=8), st.integers())
def test_given_writes_in_any_order_then_the_rule_keeps_one_value(
    writes: list[Write], seed: int
) -> None:
    first, other = kept(writes), kept(shuffled(writes, seed))

    assert first is not None and other is not None
    assert first[1] == other[1] == max(version for _, version in writes)
    assert tie_key(first[0]) == tie_key(other[0])


@given(field_values, versions, field_values)
def test_given_two_values_of_one_version_then_exactly_one_wins_unless_they_are_the_same(
    a: Any, version: Version, b: Any
) -> None:
    a_wins, b_wins = wins(a, version, b, version), wins(b, version, a, version)

    assert a_wins != b_wins or (not a_wins and tie_key(a) == tie_key(b))


def a_field_change(value: Any, version: Version) -> SalesforceChange:
    return a_change(
        change_type=ChangeType.UPDATE,
        version=version,
        fields={"Name": value},
        changed_fields=["Name"],
    )


def a_trait_upsert(value: Any, version: Version) -> GatherUpsert:
    return an_upsert(version=version, traits={"name": value})


@settings(max_examples=300)
@given(st.lists(st.tuples(field_values, versions), min_size=1, max_size=8), st.integers())
@example([("a", Version(commit_ts=1)), ("é", Version(commit_ts=1))], 0)  # repr and JSON differ
def test_given_the_same_writes_then_the_worker_and_the_sink_keep_the_same_value(
    writes: list[Write], seed: int
) -> None:
    order = shuffled(writes, seed)  # the worker's; the sink gets them the other way round
    changes = [a_field_change(value, version) for value, version in order]
    upserts = [a_trait_upsert(value, version) for value, version in order[::-1]]

    (state,) = merge_all(changes).values()
    row = reduce(rows.merge, upserts, None)

    assert row is not None
    assert state.fields["Name"].version.encode() == row.trait_versions["name"]
    assert tie_key(state.fields["Name"].value) == tie_key(row.traits["name"])


@pytest.fixture(scope="module")
def jsonb(postgres_admin_url: str) -> Iterator[Connection]:
    """A connection that gives values back the way the store reads them from jsonb."""
    engine = make_engine(postgres_admin_url, pool_size=1)
    with engine.connect() as connection:
        yield connection
    engine.dispose()


def through(db: Connection, value: Any) -> Any:
    return db.exec_driver_sql("SELECT %s::jsonb", (Jsonb(value),)).scalar_one()


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=json_values)
@example(value=1e20)  # returns as an integer
@example(value=1.7976931348623157e308)  # as the integer of its decimal text, not of its binary
@example(value=-0.0)  # returns as 0
@example(value={"b": [1e16, 2.5], "a": None})
def test_given_a_value_read_back_from_jsonb_then_its_stored_key_is_unchanged(
    jsonb: Connection, value: Any
) -> None:
    assert tie_key(through(jsonb, value))[0] == tie_key(value)[0]


def sink_row(db: Connection, upserts: list[GatherUpsert]) -> dict[str, Any]:
    """The traits the store holds after the upserts, each merged onto the row as read back."""
    row: rows.Row | None = None
    for upsert in upserts:
        row = rows.merge(row, upsert)
        row.traits = through(db, row.traits)
    assert row is not None
    return row.traits


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(st.lists(st.tuples(trait_values, versions), min_size=1, max_size=6), st.integers())
@example([(1e20, Version(commit_ts=1)), (10**22, Version(commit_ts=1))], 0)
def test_given_ties_stored_in_jsonb_between_merges_then_either_order_gives_one_row(
    jsonb: Connection, writes: list[Write], seed: int
) -> None:
    upserts = [a_trait_upsert(value, version) for value, version in shuffled(writes, seed)]

    one, other = sink_row(jsonb, upserts), sink_row(jsonb, upserts[::-1])

    assert tie_key(one["name"])[0] == tie_key(other["name"])[0]


@given(st.integers())
def test_given_a_partial_and_a_whole_address_at_one_version_then_the_whole_one_wins_in_any_order(
    seed: int,
) -> None:
    """The short chaos run's case (seed 489779): a worker composed the address from the city
    alone (the update came before the backfill's other parts), then from every part, at the
    version of the city's update; the store kept the city alone."""
    at = Version(commit_ts=2)
    whole = {"street": "1 Rue X", "city": "Paris", "postal_code": "75001", "country": "FR"}
    partial = {"city": "Paris"}
    order = [a_trait_upsert(partial, at), a_trait_upsert(whole, at), a_trait_upsert(partial, at)]
    Random(seed).shuffle(order)

    row = reduce(rows.merge, order, None)

    assert row is not None and row.traits["name"] == whole
