"""Freshness per tenant: how old the newest Salesforce commit already applied to the store is.

The store keeps, per tenant, the newest commit time among the upserts it wrote, advanced in the
same transaction as those rows (so it never claims a write that rolled back) and never moved
back (a replay of older upserts leaves it alone).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, insert, select, update

from connectors.gather.schema import freshness
from schemas.gather import GatherUpsert


def newest_commits(batch: Iterable[GatherUpsert]) -> dict[str, datetime]:
    """The newest commit time per tenant in a batch (pure)."""
    newest: dict[str, int] = {}
    for upsert in batch:
        newest[upsert.tenant] = max(newest.get(upsert.tenant, 0), upsert.version.commit_ts)
    return {tenant: _from_ms(ms) for tenant, ms in newest.items()}


def advance(db: Connection, newest: dict[str, datetime], now: datetime) -> None:
    """Move each tenant's mark forward inside the caller's transaction; never backwards."""
    for tenant, commit_at in newest.items():
        stored = db.execute(
            select(freshness.c.newest_commit_at).where(freshness.c.tenant == tenant)
        ).scalar()
        values = {"newest_commit_at": commit_at, "applied_at": now}
        if stored is None:
            db.execute(insert(freshness).values(tenant=tenant, **values))
        elif _aware(stored) < commit_at:
            db.execute(update(freshness).where(freshness.c.tenant == tenant).values(**values))


def read_freshness(engine: Engine) -> dict[str, datetime]:
    """Tenant -> the newest Salesforce commit time applied to the store (UTC)."""
    with engine.connect() as db:
        rows = db.execute(select(freshness.c.tenant, freshness.c.newest_commit_at)).all()
    return {tenant: _aware(at) for tenant, at in rows}


def _from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; every time stored here is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
