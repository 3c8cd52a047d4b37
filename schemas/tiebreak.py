"""The one last-writer-wins rule of the worker's record state and of the sink's rows (pure).

A write replaces the held value when its version is newer; at an equal version (a REST
snapshot and a CDC event of one commit, a replay, two sources of one trait) the larger
`tie_key` wins. Both stages use this rule, so any order of the same writes leaves the same
value in the worker's state and in the store, and the two agree on it.

The key is the value's JSON as PostgreSQL's jsonb gives it back, then its JSON as written: the
sink compares a new value with one read back from jsonb, which writes numbers as decimal text
(a float of 1e16 or more returns as an integer, -0.0 as 0), so a key of the value as written
would change on the way through the store and the winner could depend on the order of arrival.
https://www.postgresql.org/docs/current/datatype-json.html (numbers are stored as numeric)
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any, Protocol, TypeVar


class _Ordered(Protocol):
    def __gt__(self, other: Any, /) -> bool: ...


V = TypeVar("V", bound=_Ordered)

# Python writes a float of this size or more with an exponent ("1e+16"); jsonb reads that as an
# integral numeric and writes it back as digits, which read back as an int.
_EXPONENT_FROM = 1e16


def wins(value: object, version: V, held_value: object, held_version: V | None) -> bool:
    """Whether a write of `value` at `version` replaces `held_value` held at `held_version`
    (None: nothing held). Versions are any one ordered form (tuples, `Version.encode()`)."""
    if held_version is None:
        return True
    if version != held_version:
        return version > held_version
    return tie_key(value) > tie_key(held_value)


def tie_key(value: object) -> tuple[int, str, str]:
    """A total, deterministic order over every value either stage holds (JSON scalars, objects
    and arrays): first an object with more parts set, then the JSON as the store holds it, then
    as written, so values that the store cannot tell apart (1e20 and 10**20) are still ordered
    the same way in any order of arrival.

    Parts first: a compound trait (an address) is composed from the fields the worker holds, at
    the newest part's version, so a worker that saw an update of the city before the backfill's
    street sends `{"city": "Paris"}` and then the whole address at one version. The fuller
    value must win in any order (the short chaos run, seed 489779, kept the city alone when the
    JSON text decided: `"}"` sorts after `","`)."""
    written = _json(value)
    stored = _as_stored(value)
    return _parts(value), (written if stored is value else _json(stored)), written


def _parts(value: object) -> int:
    return sum(v is not None for v in value.values()) if isinstance(value, dict) else 0


def _json(value: object) -> str:
    # repr for anything that is not JSON: neither stage holds such a value (validated changes
    # and upserts, JSON read from the store), but a tie must never raise
    return json.dumps(value, sort_keys=True, default=repr)


def _as_stored(value: object) -> object:
    """The value as jsonb gives it back (a scalar it keeps is returned as the same object)."""
    if isinstance(value, float):
        if value == 0.0 and math.copysign(1.0, value) < 0:
            return 0.0  # numeric has no negative zero
        if math.isfinite(value) and abs(value) >= _EXPONENT_FROM:
            return int(Decimal(repr(value)))  # the decimal text jsonb keeps, not the binary
        return value
    if isinstance(value, dict):
        return {k: _as_stored(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_stored(v) for v in value]
    return value
