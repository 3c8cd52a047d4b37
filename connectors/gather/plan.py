"""What a batch writes, decided in memory (pure): the batch's upserts grouped by the row they
touch, folded onto that row as it stands, and only the rows that changed kept.

The store reads every row a batch touches in one statement per table, hands them here, and
writes the result in one statement per table; folding all of a key's upserts in memory gives
the row `rows.merge` gives one upsert at a time, since the merge is order-independent and
idempotent per trait.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from connectors.gather.rows import Row, merge
from schemas.gather import EntityKind, GatherUpsert, Operation, Target

Key = tuple[str, ...]  # (tenant, id) or, for records, (tenant, model, id)


@dataclass(frozen=True)
class Match:
    """An update-existing upsert's question: which rows of `tenant` (and `model`) hold `value`
    in trait `trait`."""

    tenant: str
    model: str | None
    trait: str
    value: str


def key_columns(kind: EntityKind) -> tuple[str, ...]:
    return ("tenant", "model", "id") if kind is EntityKind.RECORD else ("tenant", "id")


def key_of(upsert: GatherUpsert, gather_id: str) -> Key:
    model = (upsert.model or "",) if upsert.kind is EntityKind.RECORD else ()
    return (upsert.tenant, *model, gather_id)


def key_of_row(kind: EntityKind, columns: Mapping[str, Any]) -> Key:
    return tuple(columns[name] for name in key_columns(kind))


def match_of(upsert: GatherUpsert) -> Match | None:
    if upsert.target is Target.CREATE:
        return None
    assert upsert.match_trait is not None, "an update-existing upsert names its match trait"
    return Match(upsert.tenant, upsert.model, upsert.match_trait, upsert.sf_id)


def group(
    batch: Iterable[GatherUpsert], matches: Mapping[Match, list[str]]
) -> tuple[dict[Key, list[GatherUpsert]], Counter[tuple[str, str]]]:
    """Each touched key with its upserts in batch order, and how many update-existing upserts
    matched no row (they create nothing), by tenant and Salesforce object."""
    touched: dict[Key, list[GatherUpsert]] = {}
    unmatched: Counter[tuple[str, str]] = Counter()
    for upsert in batch:
        match = match_of(upsert)
        ids = [upsert.gather_id or ""] if match is None else matches.get(match, [])
        if not ids:
            unmatched[upsert.tenant, sf_object(upsert)] += 1
        for gather_id in ids:
            touched.setdefault(key_of(upsert, gather_id), []).append(upsert)
    return touched, unmatched


# the Salesforce object an upsert's entity comes from (a custom record's: its model's object)
_OBJECTS = {EntityKind.ACCOUNT: "Account", EntityKind.USER: "Contact"}


def sf_object(upsert: GatherUpsert) -> str:
    return _OBJECTS.get(upsert.kind) or upsert.model or upsert.kind.value


def fold(existing: Row | None, upserts: Iterable[GatherUpsert]) -> Row | None:
    """The row after the upserts; None when none of them applies (an undelete of a record
    never synced, on no row)."""
    row = existing
    for upsert in upserts:
        if upsert.op is Operation.UNDELETE and not held_data(row):
            # an undelete revives an entity; a record never synced has none (at most the
            # tombstone of a delete the rules sent while it was skipped)
            continue
        row = merge(row, upsert)
    return row


def held_data(row: Row | None) -> bool:
    """Whether a row is an entity (synced traits, or traits it had before the sync), not only
    the tombstone of a record deleted before it was ever synced."""
    return row is not None and bool(row.traits or row.trait_versions)


def row_of(stored: Mapping[str, Any]) -> Row:
    return Row(
        stored["sf_id"],
        dict(stored["traits"] or {}),
        dict(stored["trait_versions"] or {}),
        bool(stored["deleted"]),
        stored["deleted_version"],
        stored.get("sf_account_id"),
        stored["deleted_reason"],
    )


def columns(kind: EntityKind, key: Key, row: Row) -> dict[str, Any]:
    """The row's columns to write, key included (timestamps are the store's)."""
    values = dict(zip(key_columns(kind), key, strict=True)) | row.columns()
    if kind is EntityKind.USER:
        values["sf_account_id"] = row.sf_account_id
    return values
