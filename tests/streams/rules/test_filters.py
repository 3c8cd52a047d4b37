"""Filters: a table of typed cases, and Hypothesis against a brute-force reference."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.tenant import Condition, Filter
from streams.rules.filters import UnknownFieldType, holds, matches


def cond(field: str, op: str, value: Any = None) -> Condition:
    data: dict[str, Any] = {"field": field, "operator": op}
    if value is not None:
        data["value"] = value
    return Condition.model_validate(data)


CASES = [
    ("Industry", "string", "Banking", cond("Industry", "equals", "banking"), True),
    ("Industry", "picklist", "Retail", cond("Industry", "in", ["Banking", "Retail"]), True),
    ("Industry", "picklist", "Retail", cond("Industry", "not_in", ["Banking", "Retail"]), False),
    ("Industry", "string", None, cond("Industry", "not_equals", "Banking"), True),
    ("Industry", "string", "", cond("Industry", "is_empty"), True),
    ("Industry", "string", "Energy", cond("Industry", "is_not_empty"), True),
    ("Name", "string", "Acme Corp", cond("Name", "contains", "CORP"), True),
    ("Name", "string", "Acme Corp", cond("Name", "starts_with", "acme"), True),
    ("Name", "string", "Acme Corp", cond("Name", "ends_with", "inc"), False),
    ("Name", "string", None, cond("Name", "not_contains", "x"), True),
    ("NumberOfEmployees", "int", 12, cond("NumberOfEmployees", "gte", 10), True),
    ("NumberOfEmployees", "int", 12, cond("NumberOfEmployees", "gt", 12), False),
    (
        "NumberOfEmployees",
        "int",
        9,
        cond("NumberOfEmployees", "lt", "10"),
        True,
    ),  # text value, number field
    ("AnnualRevenue", "currency", 1e6, cond("AnnualRevenue", "equals", 1000000), True),
    ("CloseDate", "date", "2026-03-01", cond("CloseDate", "lt", "2026-04-01"), True),
    (
        "LastModifiedDate",
        "datetime",
        "2026-01-31T23:30:00.000-0100",
        cond("LastModifiedDate", "gte", "2026-02-01"),
        True,
    ),
    (
        "LastModifiedDate",
        "datetime",
        "2026-01-31T10:00:00.000Z",
        cond("LastModifiedDate", "gt", "2026-01-31T10:00:00Z"),
        False,
    ),
    ("IsWon", "boolean", True, cond("IsWon", "equals", True), True),
    ("IsWon", "boolean", False, cond("IsWon", "equals", "true"), False),
    ("NumberOfEmployees", "int", "many", cond("NumberOfEmployees", "gt", 1), False),  # unreadable
]


@pytest.mark.parametrize(
    ("field", "kind", "value", "condition", "expected"),
    CASES,
    ids=[f"{c[3].operator.value}-{c[1]}-{n}" for n, c in enumerate(CASES)],
)
def test_given_a_typed_condition_then_it_holds_as_documented(
    field: str,
    kind: str,
    value: Any,
    condition: Condition,
    expected: bool,
) -> None:
    assert holds(condition, value, kind) is expected


def test_given_all_and_any_then_they_combine_conditions() -> None:
    conditions = [cond("Industry", "equals", "Banking"), cond("NumberOfEmployees", "gt", 100)]
    values = {"Industry": "Banking", "NumberOfEmployees": 5}
    types = {"NumberOfEmployees": "int", "Industry": "picklist"}

    assert matches(Filter(match="any", conditions=conditions), values, types) is True
    assert matches(Filter(match="all", conditions=conditions), values, types) is False
    assert matches(None, values, types) is True


# --- brute-force reference -----------------------------------------------------------------------

NUMERIC_OPS = [
    "equals",
    "not_equals",
    "gt",
    "gte",
    "lt",
    "lte",
    "in",
    "not_in",
    "is_empty",
    "is_not_empty",
]
TEXT_OPS = [
    "equals",
    "not_equals",
    "contains",
    "not_contains",
    "starts_with",
    "ends_with",
    "in",
    "not_in",
    "is_empty",
    "is_not_empty",
]


def reference(op: str, value: Any, wanted: Any, kind: str) -> bool:
    """Independent of the implementation: Decimal for numbers, casefold for text, explicit
    branches for every operator."""
    empty = value is None or value == ""
    if op == "is_empty":
        return empty
    if op == "is_not_empty":
        return not empty
    if empty:
        return op in ("not_equals", "not_contains", "not_in")
    a: Any
    targets: Any
    if kind == "int":
        a = Decimal(str(value))
        targets = (
            [Decimal(str(w)) for w in wanted] if isinstance(wanted, list) else Decimal(str(wanted))
        )
    else:
        a = str(value).casefold()
        targets = (
            [str(w).casefold() for w in wanted]
            if isinstance(wanted, list)
            else str(wanted).casefold()
        )
    if op == "in":
        return a in targets
    if op == "not_in":
        return a not in targets
    if op == "equals":
        return bool(a == targets)
    if op == "not_equals":
        return bool(a != targets)
    if op == "contains":
        return targets in a
    if op == "not_contains":
        return targets not in a
    if op == "starts_with":
        return bool(a.startswith(targets))
    if op == "ends_with":
        return bool(a.endswith(targets))
    result: bool = {"gt": a > targets, "gte": a >= targets, "lt": a < targets, "lte": a <= targets}[
        op
    ]
    return result


numbers = st.one_of(st.none(), st.integers(-5, 5))
texts = st.one_of(st.none(), st.text(alphabet="abAB ", max_size=3))


@st.composite
def numeric_case(draw: st.DrawFn) -> tuple[str, Any, Any]:
    op = draw(st.sampled_from(NUMERIC_OPS))
    wanted = (
        draw(st.lists(st.integers(-5, 5), min_size=1, max_size=3))
        if op in ("in", "not_in")
        else None
        if op.startswith("is_")
        else draw(st.integers(-5, 5))
    )
    return op, draw(numbers), wanted


@st.composite
def text_case(draw: st.DrawFn) -> tuple[str, Any, Any]:
    op = draw(st.sampled_from(TEXT_OPS))
    word = st.text(alphabet="abAB ", min_size=1, max_size=2)
    wanted = (
        draw(st.lists(word, min_size=1, max_size=3))
        if op in ("in", "not_in")
        else None
        if op.startswith("is_")
        else draw(word)
    )
    return op, draw(texts), wanted


@given(numeric_case())
def test_given_any_number_condition_then_it_agrees_with_the_reference(
    case: tuple[str, Any, Any],
) -> None:
    op, value, wanted = case
    assert holds(cond("N", op, wanted), value, "int") is reference(op, value, wanted, "int")


@given(text_case())
def test_given_any_text_condition_then_it_agrees_with_the_reference(
    case: tuple[str, Any, Any],
) -> None:
    op, value, wanted = case
    assert holds(cond("T", op, wanted), value, "string") is reference(op, value, wanted, "string")


@given(st.lists(text_case(), min_size=1, max_size=4), st.sampled_from(["all", "any"]))
def test_given_any_filter_then_all_and_any_agree_with_the_reference(
    cases: list[tuple[str, Any, Any]],
    match: str,
) -> None:
    conditions = [cond(f"F{n}", op, wanted) for n, (op, _, wanted) in enumerate(cases)]
    values = {f"F{n}": value for n, (_, value, _) in enumerate(cases)}
    expected = [reference(op, value, wanted, "string") for op, value, wanted in cases]

    types = {f"F{n}": "string" for n in range(len(cases))}
    got = matches(Filter(match=match, conditions=conditions), values, types)

    assert got is (all(expected) if match == "all" else any(expected))


def test_given_a_field_without_a_describe_type_then_matching_refuses_to_guess() -> None:
    rule = Filter(match="all", conditions=[cond("NumberOfEmployees", "gte", 10)])

    with pytest.raises(UnknownFieldType):
        matches(rule, {"NumberOfEmployees": 9}, {"Name": "string"})


def test_given_a_number_field_then_it_compares_as_a_number_not_as_text() -> None:
    rule = Filter(match="all", conditions=[cond("NumberOfEmployees", "gte", 10)])
    types = {"NumberOfEmployees": "int"}

    assert [matches(rule, {"NumberOfEmployees": n}, types) for n in (2, 9, 10, 100)] == [
        False,
        False,
        True,
        True,
    ]


def test_given_datetimes_with_offsets_then_they_compare_as_instants() -> None:
    assert datetime(2026, 2, 1, 0, 30, tzinfo=UTC) > datetime(2026, 2, 1, tzinfo=UTC)
    assert holds(
        cond("D", "equals", "2026-02-01T00:30:00Z"), "2026-02-01T01:30:00+01:00", "datetime"
    )
