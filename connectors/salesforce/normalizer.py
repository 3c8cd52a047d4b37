"""CometD change-event messages -> one `SalesforceChange` per record (pure, table-tested).

Compound fields are flattened to the object's own field names so a CDC delta and a REST
snapshot merge field by field: `BillingAddress: {City}` -> `BillingCity`, Contact
`Name: {FirstName}` -> `FirstName`; `changedFields` likewise (`BillingAddress.City` ->
`BillingCity`). GAP_* and GAP_OVERFLOW events carry no fields; they come back as `Gap` and
`Overflow` for the listener to resolve over REST.
https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_event_fields_header.htm
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from connectors.salesforce.errors import NormalizeError
from schemas.changes import ChangeType, SalesforceChange
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


@dataclass(frozen=True)
class Overflow:
    """A transaction over 100,000 changes: resync the object from `version.commit_ts`."""

    tenant: str
    object: str
    version: Version
    replay_id: int


Normalized = list[SalesforceChange] | Gap | Overflow


def normalize(tenant: str, message: dict[str, Any]) -> Normalized:
    """One CometD message (`{"channel", "data": {"payload", "event"}}`) of one tenant."""
    try:
        data = message["data"]
        payload, replay_id = data["payload"], int(data["event"]["replayId"])
        header = payload["ChangeEventHeader"]
        change_type, entity = str(header["changeType"]), str(header["entityName"])
        version = Version(
            commit_ts=int(header["commitTimestamp"]),
            commit_number=int(header.get("commitNumber") or 0),
            sequence=int(header.get("sequenceNumber") or 0),
        )
        record_ids = [str(r) for r in header["recordIds"]]
    except (KeyError, TypeError, ValueError, ValidationError) as e:
        raise NormalizeError(f"not a change event: {type(e).__name__}: {e}") from e
    if change_type == "GAP_OVERFLOW":
        return Overflow(tenant, entity, version, replay_id)
    if change_type in GAP_TYPES:
        return Gap(tenant, entity, tuple(record_ids), change_type, version, replay_id)
    if change_type not in PLAIN_TYPES:
        raise NormalizeError(f"unknown changeType {change_type!r}")
    return _changes(tenant, entity, change_type, payload, header, version, replay_id, record_ids)


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
    fields = flatten({k: v for k, v in payload.items() if k != "ChangeEventHeader"})
    changed = [flatten_name(n) for n in header.get("changedFields") or []]
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
        if isinstance(value, dict):
            flat |= {compound_part(name, part): v for part, v in value.items()}
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
