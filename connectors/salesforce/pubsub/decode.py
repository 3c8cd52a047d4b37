"""A Pub/Sub change event (its Avro record, already read with its schema) -> the payload the
CometD path receives for the same change, so one normalizer serves both transports (pure).

What differs between the two forms, from the CDC guide's comparison:
- Pub/Sub sends every field of the schema, null when unchanged; CometD sends only the fields of
  the change. An UPDATE keeps the fields `changedFields` names (a nulled one as null); a
  CREATE or UNDELETE keeps the fields that have a value; a DELETE and a gap keep none.
- Pub/Sub names fields by bitmaps (bitmap.py); CometD by name (`BillingAddress.City`).
- A large text sent as a diff: Pub/Sub holds the diff's text and names the field in `diffFields`;
  CometD sends `{"diff": "..."}` in place of the value. The CometD form is given here too, and
  the normalizer has the record re-read.
- Pub/Sub dates are epoch milliseconds; CometD's are text (`2022-06-10T22:42:34.000Z`, dates
  `2022-06-10`). The field's Salesforce type is in its schema `doc` (`Data:DateTime`).

A changed field with no value that `nulledFields` does not name is a contradiction in the event
itself: a NormalizeError, so the event goes to the DLQ with that reason.
https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_event_diff_pubsub_cometd.htm
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from connectors.salesforce.errors import NormalizeError
from connectors.salesforce.pubsub.bitmap import SchemaIndex, field_names

HEADER = "ChangeEventHeader"
_WITH_VALUES = {"CREATE", "UNDELETE"}


def cometd_payload(record: Mapping[str, Any], index: SchemaIndex) -> dict[str, Any]:
    """The CometD form of the event's payload: `{"ChangeEventHeader": {...}, <fields>}`."""
    header = dict(record[HEADER])
    change_type = header.get("changeType")
    changed = field_names(header.get("changedFields") or [], index)
    nulled = set(field_names(header.get("nulledFields") or [], index))
    diffs = field_names(header.get("diffFields") or [], index)
    header |= {"changedFields": changed, "nulledFields": [], "diffFields": []}
    if change_type == "UPDATE":
        body = _changed(record, index, changed, nulled)
        body |= {name: {"diff": body[name]} for name in diffs if body.get(name) is not None}
    elif change_type in _WITH_VALUES:
        body = {f["name"]: _valued(f, record.get(f["name"]), index) for f in index.fields[1:]}
        body = {k: v for k, v in body.items() if v is not None}
    else:
        body = {}
    return {HEADER: header, **body}


def _changed(
    record: Mapping[str, Any], index: SchemaIndex, changed: list[str], nulled: set[str]
) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for name in changed:
        parent, dot, child = name.partition(".")
        if dot:
            child_field = next(c for c in index.children_of(parent) if c["name"] == child)
            value = (record.get(parent) or {}).get(child)
            body.setdefault(parent, {})[child] = _checked(child_field, value, name, nulled)
        else:
            body[name] = _checked(index.by_name[name], record.get(name), name, nulled)
    return body


def _checked(field: Mapping[str, Any], value: Any, name: str, nulled: set[str]) -> Any:
    if value is None and name not in nulled:
        raise NormalizeError(
            f"{HEADER}.changedFields names {name} with no value, and nulledFields does not"
        )
    return _scalar(field, value)


def _valued(field: Mapping[str, Any], value: Any, index: SchemaIndex) -> Any:
    """A field of a new record: a compound keeps the parts that have a value."""
    if isinstance(value, Mapping):
        children = index.children_of(field["name"])
        parts = {c["name"]: _scalar(c, value.get(c["name"])) for c in children}
        kept = {k: v for k, v in parts.items() if v is not None}
        return kept or None
    return _scalar(field, value)


def _scalar(field: Mapping[str, Any], value: Any) -> Any:
    if value is None:
        return None
    doc = str(field.get("doc", ""))
    if doc.endswith(":DateTime") and isinstance(value, int):
        moment = datetime.fromtimestamp(value / 1000, tz=UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    if doc.endswith(":DateOnly") and isinstance(value, int):
        return datetime.fromtimestamp(value / 1000, tz=UTC).strftime("%Y-%m-%d")
    return value
