"""What `explain` says about one record, as data: printed as text, or as JSON with `--json`."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from schemas.versions import Version


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class FieldState(Frozen):
    """One field of the record in the worker's state."""

    name: str
    value: Any
    version: str = Field(description="commit time (ms), commit number, sequence")


class RecordView(Frozen):
    """The record as the worker holds it (its merged state)."""

    fields: list[FieldState]
    deleted: bool
    version: str | None


class Step(Frozen):
    """One rule applied to the record: what it checks, what it found, and whether it passed
    (None: informative, it decides nothing)."""

    rule: str
    detail: str
    passed: bool | None = None


class StoreRow(Frozen):
    """A row of the Gather store that belongs to the record (by Salesforce id, Gather id or
    match trait)."""

    table: str
    id: str
    sf_id: str | None
    deleted: bool
    deleted_reason: str | None
    traits: dict[str, Any]
    trait_versions: dict[str, str]
    account_id: str | None = None
    sf_account_id: str | None = None


class Difference(Frozen):
    """A trait whose stored value is not what the rules give now."""

    trait: str
    expected: Any
    stored: Any
    expected_version: str
    stored_version: str | None


class DeadLetterView(Frozen):
    topic: str
    stage: str
    error: str


class Verdict(StrEnum):
    SYNCED = "synced"  # the store holds what the rules give
    SKIPPED = "skipped"  # a rule holds the record back
    WAITING = "waiting"  # the store is behind, and a stage has unread messages
    DEAD_LETTERED = "dead_lettered"  # an upsert of this record was refused
    NOT_SEEN = "not_seen"  # the worker holds no state for the record
    NOT_SYNCED = "not_synced"  # the tenant or its config does not sync this object
    DIFFERENT = "different"  # the store differs and nothing pending explains it


class Explanation(Frozen):
    tenant: str
    object: str
    record_id: str
    record: RecordView | None
    steps: list[Step]
    decision: str = Field(description="upsert, delete, skip:<reason> or none")
    upsert: dict[str, Any] | None = Field(description="the message the rules give now")
    rows: list[StoreRow]
    differences: list[Difference]
    dead_letters: list[DeadLetterView]
    lag: dict[str, int] = Field(description="unread messages per stage's consumer group")
    verdict: Verdict
    causes: list[str]


def when(encoded: str | None) -> str:
    """A version as its commit time, with the commit number and sequence when they are set."""
    if encoded is None:
        return "-"
    version = Version.decode(encoded)
    at = datetime.fromtimestamp(version.commit_ts / 1000, UTC).isoformat(timespec="milliseconds")
    order = (
        f" #{version.commit_number}.{version.sequence}" if version.as_tuple()[1:] != (0, 0) else ""
    )
    return at.replace("+00:00", "Z") + order
