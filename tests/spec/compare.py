"""Two stores as plain rows, compared row for row and trait for trait (no product code).

Two things mean the same and are made equal first: a trait set to null and a trait never set
(both "no value"; a CDC create omits null fields), and a deleted row that never held a trait and no
row at all (no Gather entity: the product may mark deleted a row under an id it never wrote, such
as the old id of a record that was filtered out, where the reference has nothing to mark).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tests.spec.reference import Key, Row


def canonical(rows: Mapping[Key, Row]) -> dict[Key, Row]:
    found: dict[Key, Row] = {}
    for key, row in rows.items():
        if key[0] == "models":
            found[key] = dict(row)
            continue
        traits = without_nulls(row["traits"])
        if not (row["deleted"] and not traits):
            found[key] = dict(row) | {"traits": traits}
    return found


def without_nulls(traits: Mapping[str, Any]) -> dict[str, Any]:
    kept = {k: without_nulls(v) if isinstance(v, dict) else v for k, v in traits.items()}
    return {k: v for k, v in kept.items() if v is not None and v != {}}


def differences(got: Mapping[Key, Row], want: Mapping[Key, Row]) -> list[str]:
    """One line per row that differs: the key, what the spec says and what the store has."""
    got, want = canonical(got), canonical(want)
    return [
        f"{key}: expected {want.get(key)}, got {got.get(key)}"
        for key in sorted(set(got) | set(want))
        if got.get(key) != want.get(key)
    ]
