"""Filter conditions evaluated on a record's values, typed by the field's describe type.

Types: numbers (int, double, currency, percent) compare as numbers; date and datetime as
instants (datetimes with any offset; a date compared with a datetime uses its UTC day start);
boolean as true/false; everything else (string, picklist, email, ...) as text, compared without
regard to case, as Salesforce compares text. An empty value (null or "") matches only
`is_empty`, `not_equals`, `not_contains` and `not_in`.

A condition on a field whose type is not known raises `UnknownFieldType`: a value is never
compared with a guessed type (the record waits until describe says what the field is).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from schemas.describe import BOOLEAN_TYPES, INSTANT_TYPES, NUMBER_TYPES
from schemas.sftime import parse_sf_datetime
from schemas.tenant import Condition, Filter, Operator

NEGATIVE = {Operator.NOT_EQUALS, Operator.NOT_CONTAINS, Operator.NOT_IN}


class UnknownFieldType(Exception):
    """A condition names a field the object's describe types do not include (yet)."""

    def __init__(self, field: str) -> None:
        super().__init__(f"no describe type for field {field!r}")
        self.field = field


def matches(rule: Filter | None, values: Mapping[str, Any], types: Mapping[str, str]) -> bool:
    if rule is None:
        return True
    missing = [c.field for c in rule.conditions if c.field not in types]
    if missing:
        raise UnknownFieldType(missing[0])
    results = (holds(c, values.get(c.field), types[c.field]) for c in rule.conditions)
    return all(results) if rule.match == "all" else any(results)


def holds(condition: Condition, value: Any, field_type: str) -> bool:
    op = condition.operator
    if op is Operator.IS_EMPTY:
        return _empty(value)
    if op is Operator.IS_NOT_EMPTY:
        return not _empty(value)
    if _empty(value):
        return op in NEGATIVE
    try:
        convert = _converter(field_type)
        return _compare(op, convert(value), condition.value, convert)
    except (TypeError, ValueError):
        return op in NEGATIVE  # a value that cannot be read as the field's type matches nothing


def _compare(op: Operator, actual: Any, wanted: Any, convert: Callable[[Any], Any]) -> bool:
    if op in (Operator.IN, Operator.NOT_IN):
        inside = actual in {convert(w) for w in wanted}
        return inside if op is Operator.IN else not inside
    if op in (Operator.CONTAINS, Operator.NOT_CONTAINS, Operator.STARTS_WITH, Operator.ENDS_WITH):
        return _text_op(op, str(actual).lower(), str(wanted).lower())
    target = convert(wanted)
    result: bool = {
        Operator.EQUALS: actual == target,
        Operator.NOT_EQUALS: actual != target,
        Operator.GT: actual > target,
        Operator.GTE: actual >= target,
        Operator.LT: actual < target,
        Operator.LTE: actual <= target,
    }[op]
    return result


def _text_op(op: Operator, actual: str, wanted: str) -> bool:
    if op is Operator.CONTAINS:
        return wanted in actual
    if op is Operator.NOT_CONTAINS:
        return wanted not in actual
    if op is Operator.STARTS_WITH:
        return actual.startswith(wanted)
    return actual.endswith(wanted)


def _empty(value: Any) -> bool:
    return value is None or value == ""


def _converter(field_type: str) -> Callable[[Any], Any]:
    if field_type in NUMBER_TYPES:
        return _number
    if field_type in INSTANT_TYPES:
        return _instant
    if field_type in BOOLEAN_TYPES:
        return _boolean
    return lambda v: str(v).lower()


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    return float(value)


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text not in ("true", "false"):
        raise ValueError(value)
    return text == "true"


def _instant(value: Any) -> datetime:
    """`2026-01-31` (UTC midnight) or any ISO 8601 datetime with a zone -> an aware instant."""
    text = str(value)
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)
    return parse_sf_datetime(text)
