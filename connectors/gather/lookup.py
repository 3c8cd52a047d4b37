"""Reading one record's rows back from the store, for `gather-sync explain` (never the sink's
write path): by Salesforce id, by Gather id, or by the trait update-existing matches on."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, or_, select

from connectors.gather.store import TABLES
from schemas.gather import EntityKind


def rows_of(
    engine: Engine,
    tenant: str,
    kind: EntityKind,
    sf_id: str,
    gather_id: str | None = None,
    match_trait: str | None = None,
    model: str | None = None,
) -> list[dict[str, Any]]:
    """Every row of the tenant's table for `kind` that belongs to the record, oldest first (a
    record whose id field moved has a row under each id it had)."""
    table = TABLES[kind]
    found = [table.c.sf_id == sf_id]
    if gather_id is not None:
        found.append(table.c.id == gather_id)
    if match_trait is not None:
        found.append(table.c.traits[match_trait].as_string() == sf_id)
    query = select(table).where(table.c.tenant == tenant, or_(*found))
    if model is not None:
        query = query.where(table.c.model == model)
    with engine.connect() as db:
        return [dict(row) for row in db.execute(query.order_by(table.c.created_at)).mappings()]
