"""Traits from a record's state: the chosen Salesforce fields in snake_case, each with the
version of the value it came from; compound addresses composed from their parts."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from schemas.changes import FieldValue
from schemas.names import snake_case
from schemas.versions import Version
from streams.merge import RecordState

ADDRESS_PARTS = ("Street", "City", "State", "PostalCode", "Country")
# a pure function of a field's name, called for every field of every record evaluated
_trait_name = lru_cache(maxsize=8192)(snake_case)
Traits = tuple[dict[str, Any], dict[str, Version]]


def traits(fields: list[str], state: RecordState) -> Traits:
    """Values and versions of `fields`; a field never seen in the record is left out (sending
    it would claim a value we do not know)."""
    values: dict[str, Any] = {}
    versions: dict[str, Version] = {}
    for name in fields:
        found = _value(name, state)
        if found is not None:
            trait = _trait_name(name)
            values[trait], versions[trait] = found
    return values, versions


def all_traits(state: RecordState) -> Traits:
    return traits(sorted(state.fields), state)


def _value(name: str, state: RecordState) -> tuple[Any, Version] | None:
    if name == "Id":
        version = state.version
        return (state.record_id, version) if version else None
    if name in state.fields:
        return state.fields[name].value, state.fields[name].version
    if name.endswith("Address"):
        return _address(name.removesuffix("Address"), state)
    return None


def _address(prefix: str, state: RecordState) -> tuple[Any, Version] | None:
    """BillingAddress -> {"street", "city", "state", "postal_code", "country"} from its parts;
    None when every part is empty. Its version is the newest part's."""
    parts = {p: state.fields[prefix + p] for p in ADDRESS_PARTS if prefix + p in state.fields}
    if not parts:
        return None
    version = max((v.version for v in parts.values()), key=lambda v: v.as_tuple())
    composed: dict[str, FieldValue] = {_trait_name(p): v.value for p, v in parts.items()}
    return (None if all(v is None for v in composed.values()) else composed), version
