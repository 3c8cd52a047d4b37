"""Change events in the Pub/Sub API's form: one Avro schema per object, built from describe,
and each CometD-form event of the log re-encoded in it.

The shape follows schemas Salesforce serves (the Pub/Sub guide; schemas captured from orgs):
- the record `<Object>ChangeEvent` in namespace `com.sforce.eventbus`; its first field is the
  `ChangeEventHeader` record (not nullable), then every field an event can carry, in describe
  order, each `["null", T]` with default null and the Salesforce type in `doc`;
- compound fields nested: `BillingAddress` is an `Address` record (defined at its first use and
  named again after), Contact `Name` a `PersonName` record;
- dates and datetimes as epoch milliseconds (`long`);
- in an UPDATE, unchanged fields are null; a large text sent as a diff holds the diff's text;
  `changedFields`, `nulledFields` and `diffFields` are hex bitmaps over the schema's field
  positions (header = 0), with `P-0x..` entries for the children of the compound field at
  position P.

This module writes bitmaps; the listener's decoder (connectors/salesforce/pubsub/bitmap.py) is
separate code, so a test of one against the other can find a wrong rule in either.
https://developer.salesforce.com/docs/platform/pub-sub-api/guide/event-deserialization-considerations.html
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import fastavro

from sfsim.cdc import NOT_IN_EVENTS, part_name
from sfsim.metadata import FieldDef, ObjectDef

NAMESPACE = "com.sforce.eventbus"
_AVRO_TYPES = {"boolean": "boolean", "int": "int", "double": "double", "currency": "double"}
_AVRO_TYPES |= {"percent": "double", "date": "long", "datetime": "long", "time": "long"}
_DOC_TYPES = {"datetime": "DateTime", "date": "DateOnly", "time": "TimeOnly"}
CHANGE_TYPES = ["CREATE", "UPDATE", "DELETE", "UNDELETE"]
CHANGE_TYPES += ["GAP_CREATE", "GAP_UPDATE", "GAP_DELETE", "GAP_UNDELETE", "GAP_OVERFLOW"]


def header_schema() -> dict[str, Any]:
    def strings() -> dict[str, Any]:
        return {"type": "array", "items": "string"}

    fields = [
        ("entityName", "string"),
        ("recordIds", strings()),
        ("changeType", {"type": "enum", "name": "ChangeType", "symbols": CHANGE_TYPES}),
        ("changeOrigin", "string"),
        ("transactionKey", "string"),
        ("sequenceNumber", "int"),
        ("commitTimestamp", "long"),
        ("commitNumber", "long"),
        ("commitUser", "string"),
        ("nulledFields", strings()),
        ("diffFields", strings()),
        ("changedFields", strings()),
    ]
    return {
        "type": "record",
        "name": "ChangeEventHeader",
        "fields": [{"name": n, "type": t} for n, t in fields],
    }


def event_schema(obj: ObjectDef) -> dict[str, Any]:
    """The object's change event schema (Avro JSON)."""
    fields: list[dict[str, Any]] = [
        {"name": "ChangeEventHeader", "type": header_schema(), "doc": "Data:ComplexValueType"}
    ]
    defined: set[str] = set()
    for f in obj.fields.values():
        if f.name in NOT_IN_EVENTS or f.compound_field_name in obj.fields:
            continue  # the parts of a compound field live in its record
        fields.append(_field(obj, f, defined))
    name = obj.change_event_name
    return {"type": "record", "name": name, "namespace": NAMESPACE, "fields": fields}


def _field(obj: ObjectDef, f: FieldDef, defined: set[str]) -> dict[str, Any]:
    if f.name not in obj.compounds:
        doc = "Data:" + _DOC_TYPES.get(f.type, f.type.capitalize())
        avro_type = ["null", _AVRO_TYPES.get(f.type, "string")]
        return {"name": f.name, "type": avro_type, "doc": doc, "default": None}
    record = "Address" if f.name.endswith("Address") else "PersonName"
    if record in defined:
        return {"name": f.name, "type": ["null", record], "doc": f"Data:{record}", "default": None}
    defined.add(record)
    parts = [_field(obj, obj.fields[p], defined) for p in obj.compounds[f.name]]
    children = [p | {"name": part_name(f.name, p["name"])} for p in parts]
    nested = {"type": "record", "name": record, "fields": children}
    return {"name": f.name, "type": ["null", nested], "doc": f"Data:{record}", "default": None}


def schema_id(schema: dict[str, Any]) -> str:
    """A fingerprint of the schema, 22 characters as Salesforce's are."""
    return hashlib.sha256(json.dumps(schema, sort_keys=True).encode()).hexdigest()[:22]


# --- one event -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """What encoding an event needs of its schema, worked out once per object: the schema
    parsed by fastavro, each field's position, and each compound field's children."""

    schema: dict[str, Any]
    parsed: Any
    positions: dict[str, int]
    children: dict[int, list[dict[str, Any]]]

    @classmethod
    def of(cls, schema: dict[str, Any]) -> Shape:
        fields = schema["fields"]
        records = {d["name"]: d for d in _records(fields)}
        children = {}
        for i, f in enumerate(fields[1:], start=1):
            nested = f["type"][1] if isinstance(f["type"], list) else None
            nested = records.get(nested) if isinstance(nested, str) else nested
            if isinstance(nested, dict):
                children[i] = list(nested["fields"])
        positions = {f["name"]: i for i, f in enumerate(fields)}
        return cls(schema, fastavro.parse_schema(schema), positions, children)


def _records(fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records defined inline (a record named again after its first use is looked up
    here)."""
    types = (f["type"][1] for f in fields if isinstance(f["type"], list))
    return [t for t in types if isinstance(t, dict) and t.get("type") == "record"]


def avro_record(shape: Shape, payload: dict[str, Any]) -> dict[str, Any]:
    """A CometD-form payload (sfsim/cdc.py) as the Avro record of the shape's schema."""
    header = dict(payload["ChangeEventHeader"])
    body = {k: v for k, v in payload.items() if k != "ChangeEventHeader"}
    fields = shape.schema["fields"]
    changed = header.pop("changedFields", [])
    diffs = {k: v["diff"] for k, v in body.items() if _is_diff(v)}
    body |= diffs  # the diff's text in place of the value, the field named in diffFields
    nulled = _nulled(body) if header["changeType"] == "UPDATE" else []
    header |= {
        "changedFields": bitmaps(shape, changed),
        "nulledFields": bitmaps(shape, nulled),
        "diffFields": bitmaps(shape, list(diffs)),
    }
    record: dict[str, Any] = {"ChangeEventHeader": header}
    for index, f in enumerate(fields[1:], start=1):
        record[f["name"]] = _value(shape, index, body.get(f["name"]))
    return record


def _is_diff(value: Any) -> bool:
    """CometD's form of a large text sent as a diff (sfsim/textdiff.py)."""
    return isinstance(value, dict) and list(value) == ["diff"]


def _nulled(body: dict[str, Any]) -> list[str]:
    names = []
    for name, value in body.items():
        if isinstance(value, dict):
            names += [f"{name}.{part}" for part, v in value.items() if v is None]
        elif value is None:
            names.append(name)
    return names


def _value(shape: Shape, index: int, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, dict):
        return {c["name"]: _scalar(c, value.get(c["name"])) for c in shape.children[index]}
    return _scalar(shape.schema["fields"][index], value)


def _scalar(field: dict[str, Any], value: Any) -> Any:
    if value is None:
        return None
    doc = field.get("doc", "")
    if doc.endswith("DateTime"):
        return int(datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp() * 1000)
    if doc.endswith("DateOnly"):
        return int(datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC).timestamp() * 1000)
    return value


def bitmaps(shape: Shape, names: list[str]) -> list[str]:
    """Field names (`Phone`, `BillingAddress.City`) as the header's bitmap list."""
    top, children = 0, dict[int, int]()
    for name in names:
        parent, dot, child = name.partition(".")
        if not dot:
            top |= 1 << shape.positions[name]
            continue
        index = shape.positions[parent]
        child_names = [c["name"] for c in shape.children[index]]
        children[index] = children.get(index, 0) | 1 << child_names.index(child)
    found = [_hex(top)] if top else []
    return found + [f"{i}-{_hex(bits)}" for i, bits in sorted(children.items())]


def _hex(number: int) -> str:
    """Upper-case hex of whole bytes, as Salesforce writes them (`0x0180`, `0x800000`)."""
    digits = f"{number:X}"
    return "0x" + digits.zfill(len(digits) + len(digits) % 2)


def encode(shape: Shape, record: dict[str, Any]) -> bytes:
    out = io.BytesIO()
    fastavro.schemaless_writer(out, shape.parsed, record)
    return out.getvalue()
