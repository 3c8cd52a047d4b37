"""Pub/Sub change events name their changed, nulled and diff fields as bitmaps (pure).

`ChangeEventHeader.changedFields` (and `nulledFields`, `diffFields`) is a list of strings:
- `"0x..."`: the top-level fields, bit i (counted from the least significant bit of the hex
  number) set when field i of the event's Avro schema (in schema order) is named;
- `"P-0x..."`: the children of the compound field at top-level position P (a nested record,
  e.g. BillingAddress), bit i for its child field i. Each child is named
  (`BillingAddress.City`), also when all are: Salesforce's example code then names the
  compound field alone, but the CometD path lists the children, and the normalizer flattens
  children (`BillingCity`), not a compound.

Decoded here to the names the CometD path carries (`BillingAddress.City`, `Name`), so both
transports give the normalizer the same header.
https://developer.salesforce.com/docs/platform/pub-sub-api/guide/event-deserialization-considerations.html
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from connectors.salesforce.errors import NormalizeError


@dataclass(frozen=True)
class SchemaIndex:
    """What decoding needs of an event schema, worked out once per `schema_id`: the top-level
    fields in schema order, each by name, and each compound field's child fields."""

    schema: Mapping[str, Any]
    fields: list[Mapping[str, Any]]
    by_name: dict[str, Mapping[str, Any]]
    children: dict[str, list[Mapping[str, Any]]]

    @classmethod
    def of(cls, schema: Mapping[str, Any]) -> SchemaIndex:
        fields, records = _fields(schema), _records(schema)
        children = {}
        for f in fields:
            record = _record_in(f["type"], records)
            if record is not None:
                children[f["name"]] = _fields(record)
        return cls(schema, fields, {f["name"]: f for f in fields}, children)

    def children_of(self, name: str) -> list[Mapping[str, Any]]:
        """The child fields of the compound field `name`."""
        if name not in self.children:
            raise NormalizeError(f"field {name!r} is not a compound field of the event schema")
        return self.children[name]


def field_names(bitmaps: Sequence[str], index: SchemaIndex) -> list[str]:
    """The field names a header bitmap list names, top-level fields first, in schema order."""
    names: list[str] = []
    for bitmap in bitmaps:
        parent, _, bits = bitmap.rpartition("-")
        if not parent:
            fields = index.fields
            names += [fields[i]["name"] for i in _positions(bits, len(fields), bitmap)]
        else:
            names += _children(index, parent, bits, bitmap)
    return names


def _children(index: SchemaIndex, parent: str, bits: str, bitmap: str) -> list[str]:
    if not parent.isdigit() or int(parent) >= len(index.fields):
        raise NormalizeError(f"bitmap {bitmap!r}: no top-level field at position {parent!r}")
    compound = index.fields[int(parent)]["name"]
    if compound not in index.children:
        raise NormalizeError(f"bitmap {bitmap!r} names children of a field that is not compound")
    children = index.children[compound]
    named = [children[i]["name"] for i in _positions(bits, len(children), bitmap)]
    return [f"{compound}.{child}" for child in named]


def _positions(bits: str, size: int, bitmap: str) -> list[int]:
    if not bits.startswith("0x"):
        raise NormalizeError(f"bitmap {bitmap!r} is not a hex number ('0x...')")
    try:
        number = int(bits[2:], 16)
    except ValueError as e:
        raise NormalizeError(f"bitmap {bitmap!r} is not a hex number ('0x...')") from e
    if number >> size:
        raise NormalizeError(f"bitmap {bitmap!r} names a field past the schema's {size}")
    return [i for i in range(size) if number >> i & 1]


def _fields(schema: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(schema.get("fields", []))


def _record_in(
    avro_type: Any, records: Mapping[str, Mapping[str, Any]]
) -> Mapping[str, Any] | None:
    """The record inside a field's type, if any: compound fields are `["null", {record}]`
    unions (or `["null", "string", {record}]` for a switchable name), and a record defined once
    is named again later by its name (`ShippingAddress: ["null", "Address"]`). The header is a
    record too; it is never named in a bitmap's children."""
    options = avro_type if isinstance(avro_type, list) else [avro_type]
    for option in options:
        if isinstance(option, Mapping) and option.get("type") == "record":
            return option
        if isinstance(option, str) and option in records:
            return records[option]
    return None


def _records(schema: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Every record type the schema defines, by its name and by its full name."""
    found: dict[str, Mapping[str, Any]] = {}
    pending: list[Any] = [schema]
    while pending:
        node = pending.pop()
        if isinstance(node, list):
            pending += node
        elif isinstance(node, Mapping):
            if node.get("type") == "record" and "name" in node:
                namespace = node.get("namespace")
                found[node["name"]] = node
                found[f"{namespace}.{node['name']}" if namespace else node["name"]] = node
            pending += [f.get("type") for f in node.get("fields", [])]
            pending.append(node.get("items"))
    return found
