"""Users point at the Gather account whose sf_id is their AccountId, whichever of the two was
written first: every batch links both ways for the Salesforce accounts it touched, set-based
(one read of those accounts, one update statement for their users, one for users that lost
their account)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Connection,
    Text,
    and_,
    bindparam,
    cast,
    func,
    or_,
    select,
    tuple_,
    update,
)

from connectors.gather.schema import accounts, users
from schemas.gather import EntityKind, GatherUpsert

CHUNK = 1000


def accounts_touched(batch: Iterable[GatherUpsert]) -> list[tuple[str, str]]:
    """(tenant, Salesforce account id) of the batch's accounts and its users' accounts, sorted."""
    pairs = set()
    for upsert in batch:
        if upsert.kind is EntityKind.ACCOUNT:
            pairs.add((upsert.tenant, upsert.sf_id))
        elif upsert.kind is EntityKind.USER and upsert.account_sf_id:
            pairs.add((upsert.tenant, upsert.account_sf_id))
    return sorted(pairs)


def link(db: Connection, batch: list[GatherUpsert], now: datetime) -> int:
    """Users whose account link was set, moved or cleared."""
    pairs = accounts_touched(batch)
    owners = _owners(db, pairs)
    stale = and_(
        users.c.tenant == bindparam("b_tenant"),
        users.c.sf_account_id == bindparam("b_sf_account"),
        func.coalesce(users.c.account_id, "") != func.coalesce(bindparam("b_account"), ""),
    )
    moved = update(users).where(stale).values(account_id=bindparam("b_account"), updated_at=now)
    params = [{"b_tenant": t, "b_sf_account": a, "b_account": owners.get((t, a))} for t, a in pairs]
    linked = db.execute(moved, params).rowcount if params else 0
    return linked + unlink(db, batch, now)


def _owners(db: Connection, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """The Gather account of each Salesforce account: the live row first (an account whose id
    field changed has a deleted row under its old id too, and its users belong to the live
    one); never a tombstone that held no data (a delete of an account never synced)."""
    owners: dict[tuple[str, str], str] = {}
    for at in range(0, len(pairs), CHUNK):
        query = (
            select(accounts.c.tenant, accounts.c.sf_id, accounts.c.id)
            .where(tuple_(accounts.c.tenant, accounts.c.sf_id).in_(pairs[at : at + CHUNK]))
            .where(_held_data())
            .order_by(accounts.c.deleted.desc(), accounts.c.id.desc())
        )
        for tenant, sf_id, gather_id in db.execute(query):
            owners[(tenant, sf_id)] = gather_id  # the last one read is the first in order
    return owners


def _held_data() -> ColumnElement[bool]:
    """A row with synced traits, or traits it had before the sync, not only a tombstone: its
    JSON text is longer than the empty object's `{}`."""
    return or_(*(func.length(cast(column, Text)) > 2 for column in _JSON_COLUMNS))


_JSON_COLUMNS = (accounts.c.traits, accounts.c.trait_versions)


def users_touched(batch: Iterable[GatherUpsert]) -> list[tuple[str, str]]:
    """(tenant, Salesforce id) of the batch's users, sorted: only they can have lost their
    account."""
    return sorted({(u.tenant, u.sf_id) for u in batch if u.kind is EntityKind.USER})


def unlink(db: Connection, batch: list[GatherUpsert], now: datetime) -> int:
    """Users of this batch without an AccountId lose their account."""
    touched: dict[str, list[str]] = {}
    for tenant, sf_id in users_touched(batch):
        touched.setdefault(tenant, []).append(sf_id)
    unlinked = 0
    for tenant, sf_ids in touched.items():
        orphans = and_(
            users.c.tenant == tenant,
            users.c.sf_id.in_(sf_ids),
            users.c.sf_account_id.is_(None),
            users.c.account_id.is_not(None),
        )
        unlinked += db.execute(
            update(users).where(orphans).values(account_id=None, updated_at=now)
        ).rowcount
    return unlinked
