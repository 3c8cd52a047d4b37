"""The Gather store: one transaction per batch of upserts, on PostgreSQL or SQLite.

The store only reads the rows an upsert touches and writes what `rows.merge` shaped. The two
databases differ in two places, each a method of its own: how update-existing finds a row by a
trait (PostgreSQL: `traits @> {...}` through the GIN index; SQLite: `json_extract`), and how a
row is locked for the read-modify-write (PostgreSQL: `FOR UPDATE`; SQLite: the write lock
its transactions take at BEGIN IMMEDIATE).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Select,
    Table,
    and_,
    cast,
    func,
    insert,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB

from connectors.gather.freshness import advance, newest_commits
from connectors.gather.rows import Row, merge
from connectors.gather.schema import accounts, models, records, users
from schemas.gather import EntityKind, GatherUpsert, Operation, Target

TABLES = {EntityKind.ACCOUNT: accounts, EntityKind.USER: users, EntityKind.RECORD: records}


@dataclass
class ApplyResult:
    written: int = 0
    unmatched: int = 0  # update-existing upserts whose Gather entity does not exist (created: none)
    linked: int = 0  # users whose account link was set or moved
    tenants: set[str] = field(default_factory=set)
    newest: dict[str, datetime] = field(default_factory=dict)  # tenant -> newest commit applied


class SqlStore:
    """The store on any SQLAlchemy engine; `for_engine` picks the dialect's two differences."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @staticmethod
    def for_engine(engine: Engine) -> SqlStore:
        if engine.dialect.name == "postgresql":
            return PostgresStore(engine)
        return SqliteStore(engine)

    def apply(self, batch: list[GatherUpsert], now: datetime) -> ApplyResult:
        result = ApplyResult()
        with self.engine.begin() as db:
            for upsert in batch:
                self._apply_one(db, upsert, now, result)
            result.linked = self._link_accounts(db, batch, now)
            result.newest = newest_commits(batch)
            advance(db, result.newest, now)
        return result

    def save_models(self, tenant: str, wanted: list[tuple[str, str, str]], now: datetime) -> None:
        """The tenant's custom-object models (name, object, id field), created on config save."""
        with self.engine.begin() as db:
            existing = set(
                db.execute(select(models.c.name).where(models.c.tenant == tenant)).scalars()
            )
            for name, sf_object, id_field in wanted:
                if name not in existing:
                    db.execute(
                        insert(models).values(
                            tenant=tenant,
                            name=name,
                            sf_object=sf_object,
                            id_field=id_field,
                            created_at=now,
                        )
                    )

    # --- one upsert ----------------------------------------------------------------------------

    def _apply_one(
        self, db: Connection, upsert: GatherUpsert, now: datetime, result: ApplyResult
    ) -> None:
        table = TABLES[upsert.kind]
        keys = self._keys(db, table, upsert)
        if not keys:
            result.unmatched += 1
            return
        for key in keys:
            existing = (
                db.execute(self._locked(select(table).where(_where(table, key)))).mappings().first()
            )
            if upsert.op is Operation.UNDELETE and not _held_data(existing):
                # an undelete revives an entity; a record never synced has none (at most the
                # tombstone of a delete the rules sent while it was skipped)
                continue
            row = merge(_row(existing) if existing else None, upsert)
            values = row.columns() | {"updated_at": now}
            if upsert.kind is EntityKind.USER:
                values["sf_account_id"] = row.sf_account_id
            if existing is None:
                db.execute(insert(table).values(**key, **values, created_at=now))
            else:
                db.execute(update(table).where(_where(table, key)).values(**values))
            result.written += 1
        result.tenants.add(upsert.tenant)

    def _keys(self, db: Connection, table: Table, upsert: GatherUpsert) -> list[dict[str, str]]:
        base = {"tenant": upsert.tenant} | ({"model": upsert.model} if upsert.model else {})
        if upsert.target is Target.CREATE:
            assert upsert.gather_id is not None
            return [base | {"id": upsert.gather_id}]
        assert upsert.match_trait is not None
        found = db.execute(self._match(table, upsert.tenant, upsert.match_trait, upsert.sf_id))
        return [base | {"id": gather_id} for gather_id in found.scalars()]

    # --- links ---------------------------------------------------------------------------------

    def _link_accounts(self, db: Connection, batch: list[GatherUpsert], now: datetime) -> int:
        """Users point at the Gather account whose sf_id is their AccountId, whichever of the two
        was written first: every batch links both ways for the Salesforce ids it touched."""
        pairs = {
            (u.tenant, u.account_sf_id)
            for u in batch
            if u.kind is EntityKind.USER and u.account_sf_id
        }
        pairs |= {(a.tenant, a.sf_id) for a in batch if a.kind is EntityKind.ACCOUNT}
        self._serialize_links(db, sorted(pairs))
        linked = 0
        for tenant, sf_account in pairs:
            account_id = self._account_of(db, tenant, sf_account)
            stale = and_(
                users.c.tenant == tenant,
                users.c.sf_account_id == sf_account,
                func.coalesce(users.c.account_id, "") != (account_id or ""),
            )
            linked += db.execute(
                update(users).where(stale).values(account_id=account_id, updated_at=now)
            ).rowcount
        touched: dict[str, set[str]] = {}  # only users of this batch can have lost their account
        for u in batch:
            if u.kind is EntityKind.USER:
                touched.setdefault(u.tenant, set()).add(u.sf_id)
        for tenant, sf_ids in touched.items():
            orphans = and_(
                users.c.tenant == tenant,
                users.c.sf_id.in_(sorted(sf_ids)),
                users.c.sf_account_id.is_(None),
                users.c.account_id.is_not(None),
            )
            linked += db.execute(
                update(users).where(orphans).values(account_id=None, updated_at=now)
            ).rowcount
        return linked

    def _account_of(self, db: Connection, tenant: str, sf_account: str) -> str | None:
        """The Gather account of a Salesforce account: the live row first (an account whose id
        field changed has a deleted row under its old id too, and its users belong to the live
        one); never a tombstone that held no data (a delete of an account never synced)."""
        found = db.execute(
            select(accounts.c.id, accounts.c.traits, accounts.c.trait_versions)
            .where(accounts.c.tenant == tenant, accounts.c.sf_id == sf_account)
            .order_by(accounts.c.deleted, accounts.c.id)
        ).mappings()
        return next((row["id"] for row in found if _held_data(row)), None)

    # --- dialect differences -------------------------------------------------------------------

    def _match(self, table: Table, tenant: str, trait: str, value: str) -> Select[Any]:
        raise NotImplementedError

    def _locked(self, query: Select[Any]) -> Select[Any]:
        return query

    def _serialize_links(self, db: Connection, pairs: list[tuple[str, str]]) -> None:
        """Make the link passes of concurrent batches touching one Salesforce account run one
        after the other, each seeing the other's committed rows."""


class PostgresStore(SqlStore):
    """Under READ COMMITTED a batch does not see another's uncommitted rows: two sinks writing a
    user and its account at once would each link before the other commits, and neither would
    make the link. A transaction-scoped advisory lock per (tenant, Salesforce account), taken in
    sorted order after the batch's own writes, makes the later link pass wait for the earlier
    transaction's commit; its statements then see that commit. Whichever commits last links.
    https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS"""

    def _serialize_links(self, db: Connection, pairs: list[tuple[str, str]]) -> None:
        for tenant, sf_account in pairs:
            key = literal(f"{tenant}:{sf_account}")
            db.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))

    def _match(self, table: Table, tenant: str, trait: str, value: str) -> Select[Any]:
        wanted = cast(literal(json.dumps({trait: value})), JSONB)
        containment = table.c.traits.op("@>")(wanted)
        return select(table.c.id).where(table.c.tenant == tenant, containment)

    def _locked(self, query: Select[Any]) -> Select[Any]:
        return query.with_for_update()


class SqliteStore(SqlStore):
    """Transactions begin IMMEDIATE (engine.py), so a read-modify-write holds the write lock,
    and batches, their link passes included, run one at a time."""

    def _match(self, table: Table, tenant: str, trait: str, value: str) -> Select[Any]:
        extracted = func.json_extract(table.c.traits, text(f"'$.\"{trait}\"'"))
        return select(table.c.id).where(table.c.tenant == tenant, extracted == value)


def _where(table: Table, key: dict[str, str]) -> Any:
    return and_(*(table.c[name] == value for name, value in key.items()))


def _held_data(row: Any) -> bool:
    """Whether a row is an entity (synced traits, or traits it had before the sync), not only
    the tombstone of a record deleted before it was ever synced."""
    return row is not None and bool(row["traits"] or row["trait_versions"])


def _row(existing: Any) -> Row:
    return Row(
        existing["sf_id"],
        dict(existing["traits"] or {}),
        dict(existing["trait_versions"] or {}),
        bool(existing["deleted"]),
        existing["deleted_version"],
        existing.get("sf_account_id"),
        existing["deleted_reason"],
    )
