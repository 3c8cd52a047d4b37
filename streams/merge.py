"""A record's state, merged from its changes in any order (pure).

Every field is a last-writer-wins register ordered by the change's version; liveness is one
more register (a delete is a versioned tombstone, an undelete or any later write revives).
Equal versions are broken by the value itself (`schemas.tiebreak`, the sink's rule too), so any
order of the same changes (CDC deltas, REST snapshots, duplicates, replays) converges to one
state, and applying an older change never moves a field backwards.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from schemas.changes import ChangeType, FieldValue, SalesforceChange
from schemas.tiebreak import wins
from schemas.versions import Version


class Versioned(BaseModel):
    model_config = ConfigDict(frozen=True)

    value: FieldValue
    version: Version


class RecordState(BaseModel):
    model_config = ConfigDict(frozen=True)

    tenant: str
    object: str
    record_id: str
    fields: dict[str, Versioned] = Field(default_factory=dict)
    deleted: Versioned | None = None  # value is True (tombstone) or False (alive)
    # the newest delete ever seen (a max register): a record that was deleted may have a row
    # marked deleted that an undelete must revive, even while the rules skip the record
    last_delete: Version | None = None

    @property
    def is_deleted(self) -> bool:
        return bool(self.deleted and self.deleted.value)

    def values(self) -> dict[str, FieldValue]:
        return {name: v.value for name, v in self.fields.items()}

    @property
    def version(self) -> Version | None:
        """The newest version this state has seen, of any field or of its liveness."""
        seen = [v.version for v in self.fields.values()]
        seen += [self.deleted.version] if self.deleted else []
        return max(seen, key=lambda v: v.as_tuple()) if seen else None


def _newer(current: Versioned | None, value: FieldValue, version: tuple[int, int, int]) -> bool:
    return current is None or wins(value, version, current.value, current.version.as_tuple())


M = TypeVar("M", bound=BaseModel)


def trusted(cls: type[M], values: dict[str, Any]) -> M:
    """`cls.model_construct(**values)` for values of every field, already valid (the worker's
    own, from validated changes), without its per-field loop: on the worker's hot path a state
    is built from a few dozen of these. The models here have no aliases, defaults to fill,
    private attributes or post-init (tests/streams/test_merge.py compares with validation)."""
    model = cls.__new__(cls)
    _set(model, "__dict__", values)
    _set(model, "__pydantic_fields_set__", set(values))
    _set(model, "__pydantic_extra__", None)
    _set(model, "__pydantic_private__", None)
    return model


_set = object.__setattr__


def _versioned(value: FieldValue, version: Version) -> Versioned:
    return trusted(Versioned, {"value": value, "version": version})


def apply(state: RecordState | None, change: SalesforceChange) -> RecordState:
    version, at = change.version, change.version.as_tuple()
    fields = dict(state.fields) if state is not None else {}
    for name, value in change.fields.items():
        if _newer(fields.get(name), value, at):
            fields[name] = _versioned(value, version)
    gone = change.change_type is ChangeType.DELETE
    deleted = state.deleted if state is not None else None
    if _newer(deleted, gone, at):
        deleted = _versioned(gone, version)
    last_delete = state.last_delete if state is not None else None
    if gone and (last_delete is None or at > last_delete.as_tuple()):
        last_delete = version
    return trusted(
        RecordState,
        {
            "tenant": change.tenant if state is None else state.tenant,
            "object": change.object if state is None else state.object,
            "record_id": change.record_id if state is None else state.record_id,
            "fields": fields,
            "deleted": deleted,
            "last_delete": last_delete,
        },
    )


def merge_all(changes: Iterable[SalesforceChange]) -> dict[str, RecordState]:
    """States by key (`tenant:Object:Id`) from any sequence of changes."""
    states: dict[str, RecordState] = {}
    for change in changes:
        states[change.key] = apply(states.get(change.key), change)
    return states


def as_plain(state: RecordState) -> dict[str, Any]:
    """For comparisons: values and the deleted mark, without versions."""
    return {"deleted": state.is_deleted, "fields": state.values()}
