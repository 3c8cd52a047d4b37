"""A record's state, merged from its changes in any order (pure).

Every field is a last-writer-wins register ordered by the change's version; liveness is one
more register (a delete is a versioned tombstone, an undelete or any later write revives).
Equal versions are broken by the value itself, so any order of the same changes (CDC deltas,
REST snapshots, duplicates, replays) converges to one state, and applying an older change
never moves a field backwards.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from schemas.changes import ChangeType, FieldValue, SalesforceChange
from schemas.versions import Version


class Versioned(BaseModel):
    model_config = ConfigDict(frozen=True)

    value: FieldValue
    version: Version

    def order(self) -> tuple[tuple[int, int, int], str]:
        return self.version.as_tuple(), json.dumps(self.value, sort_keys=True)


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


def _newer(current: Versioned | None, candidate: Versioned) -> bool:
    return current is None or candidate.order() > current.order()


def apply(state: RecordState | None, change: SalesforceChange) -> RecordState:
    base = state or RecordState(
        tenant=change.tenant, object=change.object, record_id=change.record_id
    )
    fields = dict(base.fields)
    for name, value in change.fields.items():
        candidate = Versioned(value=value, version=change.version)
        if _newer(fields.get(name), candidate):
            fields[name] = candidate
    liveness = Versioned(value=change.change_type is ChangeType.DELETE, version=change.version)
    deleted = liveness if _newer(base.deleted, liveness) else base.deleted
    last_delete = base.last_delete
    if liveness.value and (
        last_delete is None or change.version.as_tuple() > last_delete.as_tuple()
    ):
        last_delete = change.version
    return base.model_copy(
        update={"fields": fields, "deleted": deleted, "last_delete": last_delete}
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
