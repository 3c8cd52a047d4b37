"""CometD change-event messages -> one `SalesforceChange` per record (pure, table-tested).

Compound fields are flattened to the object's own field names so a CDC delta and a REST
snapshot merge field by field: `BillingAddress: {City}` -> `BillingCity`, Contact
`Name: {FirstName}` -> `FirstName`; `changedFields` likewise (`BillingAddress.City` ->
`BillingCity`). GAP_* and GAP_OVERFLOW events carry no fields; they come back as `Gap` and
`Overflow` for the listener to resolve over REST; so does an UPDATE with a large text sent as a
diff (the old value it applies to is not here), as a `Gap` whose reason is "diff".
https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_data_diff.htm
https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_event_fields_header.htm
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from connectors.salesforce.errors import NormalizeError
from schemas.changes import ChangeType, SalesforceChange
from schemas.names import SalesforceId, SObjectName
from schemas.versions import Version

PLAIN_TYPES = {"CREATE", "UPDATE", "DELETE", "UNDELETE"}
GAP_TYPES = {"GAP_CREATE", "GAP_UPDATE", "GAP_DELETE", "GAP_UNDELETE"}


@dataclass(frozen=True)
class Gap:
    """Salesforce could not build the event: re-read these records over REST."""

    tenant: str
    object: str
    record_ids: tuple[str, ...]
    change_type: str
    version: Version
    replay_id: int
    reason: str = "gap"  # or "diff": a large text came as a diff, not as its value


@dataclass(frozen=True)
class Overflow:
    """A transaction over 100,000 changes: resync the object from `version.commit_ts`."""

    tenant: str
    object: str
    version: Version
    replay_id: int


Normalized = list[SalesforceChange] | Gap | Overflow


def normalize(tenant: str, message: Any) -> Normalized:
    """One CometD message (`{"channel", "data": {"payload", "event"}}`) of one tenant.

    Whatever the message holds, the only exception is `NormalizeError`, whose text says which
    part is wrong: the stream sends the message to the DLQ with it and goes on.
    """
    data = _member(message, "data", "the message")
    payload = _member(data, "payload", "data")
    replay_id = _integer(_member(_member(data, "event", "data"), "replayId", "data.event"))
    header = _member(payload, "ChangeEventHeader", "data.payload")
    change_type = _text(_member(header, "changeType", HEADER), f"{HEADER}.changeType")
    entity = _object_name(_member(header, "entityName", HEADER))
    version = _version(header)
    record_ids = _record_ids(_member(header, "recordIds", HEADER))
    if change_type == "GAP_OVERFLOW":
        return Overflow(tenant, entity, version, replay_id)
    if not record_ids:
        raise NormalizeError(f"{HEADER}.recordIds is empty: a change names at least one record")
    if change_type in GAP_TYPES:
        return Gap(tenant, entity, tuple(record_ids), change_type, version, replay_id)
    if change_type not in PLAIN_TYPES:
        raise NormalizeError(f"unknown changeType {change_type!r}")
    if change_type == "UPDATE" and any(_is_diff(v) for v in payload.values()):
        # the listener has not the old value to apply the diff to: the record is re-read
        return Gap(tenant, entity, tuple(record_ids), change_type, version, replay_id, "diff")
    return _changes(tenant, entity, change_type, payload, header, version, replay_id, record_ids)


HEADER = "ChangeEventHeader"
_OBJECT_NAME: TypeAdapter[str] = TypeAdapter(SObjectName)
_RECORD_ID: TypeAdapter[str] = TypeAdapter(SalesforceId)


def _is_diff(value: Any) -> bool:
    """A large text field sent as a unified diff: `{"diff": "--- \n+++ <hash>\n..."}`."""
    return isinstance(value, dict) and list(value) == ["diff"]


def _member(container: Any, key: str, where: str) -> Any:
    """`container[key]`, where `container` must be a JSON object holding `key`."""
    if not isinstance(container, dict):
        raise NormalizeError(f"not a change event: {where} is {_kind(container)}, not an object")
    if key not in container:
        raise NormalizeError(f"not a change event: {where} has no {key!r}")
    return container[key]


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise NormalizeError(f"{where} is {_kind(value)}, not text")
    return value


def _integer(value: Any, where: str = "data.event.replayId", digits: int = 20) -> int:
    """A whole number, as JSON gives it (or as ASCII digits in text), of at most `digits`
    digits."""
    whole = (
        (isinstance(value, int) and not isinstance(value, bool))
        or (isinstance(value, float) and value.is_integer())
        or (isinstance(value, str) and _DIGITS.fullmatch(value.strip()) is not None)
    )
    number = int(value) if whole else None
    if number is None or abs(number) >= 10**digits:
        raise NormalizeError(f"{where} is {_shown(value)}, not a whole number below 1e{digits}")
    return number


_DIGITS = re.compile(r"-?[0-9]{1,40}")


def _shown(value: Any) -> str:
    """A short, safe rendering of a bad value for the error (a huge int cannot become text)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"a {value.bit_length()}-bit int"
    return f"{_kind(value)} {repr(value)[:40]}"


def _object_name(value: Any) -> str:
    try:
        return _OBJECT_NAME.validate_python(_text(value, f"{HEADER}.entityName"))
    except ValidationError as e:
        raise NormalizeError(f"{HEADER}.entityName is not an object name: {value[:80]!r}") from e


def _version(header: dict[str, Any]) -> Version:
    """The header's (commitTimestamp, commitNumber, sequenceNumber), within the widths
    `Version.encode` gives each (15, 20 and 10 digits); a missing number is 0."""

    def part(key: str, digits: int) -> int:
        value = header.get(key) if key != "commitTimestamp" else _member(header, key, HEADER)
        number = 0 if value is None else _integer(value, f"{HEADER}.{key}", digits)
        if number < 0:
            raise NormalizeError(f"{HEADER}.{key} is negative: {number}")
        return number

    return Version(
        commit_ts=part("commitTimestamp", 15),
        commit_number=part("commitNumber", 20),
        sequence=part("sequenceNumber", 10),
    )


def _record_ids(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise NormalizeError(f"{HEADER}.recordIds is {_kind(value)}, not a list of record ids")
    try:
        return [_RECORD_ID.validate_python(_text(i, f"{HEADER}.recordIds[]")) for i in value]
    except ValidationError as e:
        raise NormalizeError(f"{HEADER}.recordIds holds a value that is not a record id") from e


def _changed_fields(header: dict[str, Any]) -> list[str]:
    """The flattened names, sorted: CometD lists them in the order of the write, Pub/Sub's
    bitmaps in the schema's, and a change is the same change either way."""
    value = header.get("changedFields") or []
    if not isinstance(value, list):
        raise NormalizeError(f"{HEADER}.changedFields is {_kind(value)}, not a list of names")
    return sorted({flatten_name(_text(n, f"{HEADER}.changedFields[]")) for n in value})


def _changes(
    tenant: str,
    entity: str,
    change_type: str,
    payload: dict[str, Any],
    header: dict[str, Any],
    version: Version,
    replay_id: int,
    record_ids: list[str],
) -> list[SalesforceChange]:
    fields = flatten({k: v for k, v in payload.items() if k != HEADER})
    changed = _changed_fields(header)
    try:
        return [
            SalesforceChange(
                tenant=tenant,
                object=entity,
                record_id=record_id,
                change_type=ChangeType(change_type),
                version=version,
                fields={} if change_type == "DELETE" else fields,
                changed_fields=changed,
                replay_id=replay_id,
                transaction_key=header.get("transactionKey"),
                commit_user=header.get("commitUser"),
            )
            for record_id in record_ids
        ]
    except ValidationError as e:
        raise NormalizeError(f"change of {entity} does not fit the contract: {e}") from e


def flatten(body: dict[str, Any]) -> dict[str, Any]:
    """Nested compound fields -> the object's own field names."""
    flat: dict[str, Any] = {}
    for name, value in body.items():
        if not isinstance(name, str):
            raise NormalizeError(f"a field name is {_kind(name)}, not text")
        if isinstance(value, dict):
            flat |= {compound_part(name, _text(part, name)): v for part, v in value.items()}
        elif isinstance(value, list):
            raise NormalizeError(f"field {name} holds a list; change events carry scalars")
        else:
            flat[name] = value
    return flat


def compound_part(compound: str, part: str) -> str:
    """(`BillingAddress`, `City`) -> `BillingCity`; (`Name`, `FirstName`) -> `FirstName`;
    (`Address__c`, `City__s`) keeps the part: custom address fields name parts themselves."""
    if compound.endswith("Address"):
        return compound[: -len("Address")] + part
    return part


def flatten_name(name: str) -> str:
    """A `changedFields` entry: `BillingAddress.City` -> `BillingCity`."""
    compound, dot, part = name.partition(".")
    return compound_part(compound, part) if dot else name
