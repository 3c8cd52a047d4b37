"""Change events as Salesforce shapes them, built from the writes of one transaction.

Shape: `{"schema": <id>, "payload": {"ChangeEventHeader": {...}, <fields>}}`; the event bus adds
`event.replayId` on delivery. This is the CometD (Streaming API) form: only non-empty fields of a
new record, only the changed fields of an update (a field set to null is sent as null), dates as
ISO text, and no `nulledFields`/`diffFields`, which the guide says CometD does not carry (a large
text value sent as a diff is `{"diff": "..."}` in place of the value, sfsim/textdiff.py).
Compound fields are nested as Salesforce nests them (`Name` with Salutation/FirstName/LastName
on Contact, `BillingAddress` with Street/City/...), and a changed part of a compound field is
listed as `BillingAddress.City` in `changedFields`.
https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_event_fields_header.htm
https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_field_types.htm
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from sfsim.ids import OVERFLOW_RECORD_ID
from sfsim.metadata import ObjectDef
from sfsim.textdiff import diff_value

CHANGE_ORIGIN = "com/salesforce/api/rest/61.0;client=sfsim"
# Fields a change event never carries in its body: the id is in recordIds, and these are
# not part of the event schema.
NOT_IN_EVENTS = {"Id", "IsDeleted", "SystemModstamp"}


@dataclass
class Write:
    """One record's change inside a transaction, before it becomes (part of) an event."""

    change_type: str  # CREATE, UPDATE, DELETE, UNDELETE
    obj: ObjectDef
    record_id: str
    values: dict[str, Any] = field(default_factory=dict)  # flat field -> new value
    previous: dict[str, Any] = field(default_factory=dict)  # an UPDATE's old values

    def merge_key(self) -> tuple[str, str, tuple[tuple[str, str], ...]]:
        """Writes with equal keys in one transaction become one event with several recordIds."""
        return (
            self.change_type,
            self.obj.name,
            # a large text sent as a diff is the same change only with the same diff
            tuple(sorted((k, repr(v)) for k, v in (self.values | self.diffs).items())),
        )

    @cached_property
    def diffs(self) -> dict[str, Any]:
        """An UPDATE's large text fields sent as a diff, in CometD's form `{"diff": "..."}`:
        worked out once, for the merge key and for the event's body."""
        return _diffs(self) if self.change_type == "UPDATE" else {}


@dataclass(frozen=True)
class Commit:
    transaction_key: str
    commit_ts: datetime
    commit_number: int
    commit_user: str


def cdc_datetime(value: datetime) -> str:
    """Datetimes in CometD change events are ISO 8601 in UTC: `2022-06-10T22:42:34.000Z`
    (the guide's compound-field example)."""
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def schema_id(obj: ObjectDef) -> str:
    """A stable id per object's event schema (Salesforce's is an opaque 22-character hash)."""
    return hashlib.sha256(obj.name.encode()).digest()[:16].hex()[:22]


def build_event(
    writes: list[Write], commit: Commit, sequence: int, gap: bool = False
) -> dict[str, Any]:
    first = writes[0]
    change_type = ("GAP_" if gap else "") + first.change_type
    changed = _changed(first) if first.change_type == "UPDATE" and not gap else []
    header = _header(first.obj.name, [w.record_id for w in writes], change_type, commit, sequence)
    body = {} if gap else _body(first)
    return {
        "schema": schema_id(first.obj),
        "payload": {"ChangeEventHeader": header | {"changedFields": changed}, **body},
    }


def build_overflow(obj: ObjectDef, commit: Commit, sequence: int) -> dict[str, Any]:
    """One GAP_OVERFLOW per entity for the changes of a transaction past the 100,000th."""
    header = _header(obj.name, [OVERFLOW_RECORD_ID], "GAP_OVERFLOW", commit, sequence)
    return {
        "schema": schema_id(obj),
        "payload": {"ChangeEventHeader": header | {"changedFields": []}},
    }


def _header(
    entity: str, record_ids: list[str], change_type: str, commit: Commit, sequence: int
) -> dict[str, Any]:
    return {
        "entityName": entity,
        "recordIds": record_ids,
        "changeType": change_type,
        "changeOrigin": CHANGE_ORIGIN,
        "transactionKey": commit.transaction_key,
        "sequenceNumber": sequence,
        "commitTimestamp": int(commit.commit_ts.timestamp() * 1000),
        "commitNumber": commit.commit_number,
        "commitUser": commit.commit_user,
    }


def _body(write: Write) -> dict[str, Any]:
    if write.change_type == "DELETE":
        return {}
    shown = {k: v for k, v in write.values.items() if _in_events(write.obj, k)}
    if write.change_type in ("CREATE", "UNDELETE"):
        shown = {k: v for k, v in shown.items() if v is not None}
    values = {k: _event_value(write.obj, k, v) for k, v in shown.items()}
    return _nest(write.obj, values | write.diffs)


def _diffs(write: Write) -> dict[str, Any]:
    found = {}
    for name, value in write.values.items():
        spec = write.obj.fields.get(name)
        if spec is None or spec.type != "textarea" or spec.compound_field_name:
            continue  # an address's Street is a part of a compound, not a large text field
        diff = diff_value(write.previous.get(name), value)
        if diff is not None:
            found[name] = {"diff": diff}
    return found


def _event_value(obj: ObjectDef, name: str, value: Any) -> Any:
    if value is not None and obj.fields[name].type == "datetime":
        return cdc_datetime(datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z"))
    return value


def _nest(obj: ObjectDef, flat: dict[str, Any]) -> dict[str, Any]:
    """Flat parts -> nested compound fields, in the object's field order."""
    nested: dict[str, Any] = {}
    for name, value in flat.items():
        compound = obj.fields[name].compound_field_name if name in obj.fields else None
        if compound and compound in obj.fields:
            nested.setdefault(compound, {})[part_name(compound, name)] = value
        else:
            nested[name] = value
    return nested


def part_name(compound: str, name: str) -> str:
    """`BillingAddress`, `BillingCity` -> `City`; Contact `Name`, `FirstName` -> `FirstName`."""
    prefix = compound.removesuffix("Address")
    return name[len(prefix) :] if compound.endswith("Address") and name.startswith(prefix) else name


def _dotted(obj: ObjectDef, name: str) -> str:
    compound = obj.fields[name].compound_field_name
    return f"{compound}.{part_name(compound, name)}" if compound else name


def _in_events(obj: ObjectDef, name: str) -> bool:
    """A compound field (Contact Name, BillingAddress) appears through its parts only."""
    return name not in NOT_IN_EVENTS and name not in obj.compounds


def _changed(write: Write) -> list[str]:
    return [_dotted(write.obj, n) for n in write.values if _in_events(write.obj, n)]
