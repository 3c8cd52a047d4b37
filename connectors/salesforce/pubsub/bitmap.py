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
from typing import Any

from connectors.salesforce.errors import NormalizeError


def field_names(bitmaps: Sequence[str], schema: Mapping[str, Any]) -> list[str]:
    """The field names a header bitmap list names, top-level fields first, in schema order."""
    fields, records = _fields(schema), _records(schema)
    names: list[str] = []
    for bitmap in bitmaps:
        parent, _, bits = bitmap.rpartition("-")
        if not parent:
            names += [fields[i]["name"] for i in _positions(bits, len(fields), bitmap)]
        else:
            names += _children(fields, records, parent, bits, bitmap)
    return names


def children_of(field: Mapping[str, Any], schema: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The child fields of a compound field of `schema` (its nested record's fields)."""
    return _fields(_record_of(field["type"], _records(schema), f"{field['name']}"))


def _children(
    fields: list[Mapping[str, Any]],
    records: Mapping[str, Mapping[str, Any]],
    parent: str,
    bits: str,
    bitmap: str,
) -> list[str]:
    if not parent.isdigit() or int(parent) >= len(fields):
        raise NormalizeError(f"bitmap {bitmap!r}: no top-level field at position {parent!r}")
    compound = fields[int(parent)]
    children = _fields(_record_of(compound["type"], records, bitmap))
    named = [children[i]["name"] for i in _positions(bits, len(children), bitmap)]
    return [f"{compound['name']}.{child}" for child in named]


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


def _record_of(
    avro_type: Any, records: Mapping[str, Mapping[str, Any]], bitmap: str
) -> Mapping[str, Any]:
    """The record inside a field's type: compound fields are `["null", {record}]` unions (or
    `["null", "string", {record}]` for a switchable name), and a record defined once is named
    again later by its name (`ShippingAddress: ["null", "Address"]`)."""
    options = avro_type if isinstance(avro_type, list) else [avro_type]
    for option in options:
        if isinstance(option, Mapping) and option.get("type") == "record":
            return option
        if isinstance(option, str) and option in records:
            return records[option]
    raise NormalizeError(f"bitmap {bitmap!r} names children of a field that is not compound")


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
