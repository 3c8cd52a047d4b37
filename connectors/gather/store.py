"""The Gather store: one transaction per batch of upserts, on PostgreSQL or SQLite, set-based.

Per batch and table: one read of the rows the batch touches (and one per match trait for
update-existing), the merge in memory (`plan.fold` over `rows.merge`), and one write of the
rows that changed. The write stays monotonic under concurrent sinks (two replicas on the same
partitions during a rebalance) because no row is written from a read another transaction can
change underneath it:

- rows that exist are read `FOR UPDATE` (PostgreSQL) in key order, so they stay ours until
  commit, and two batches lock their common rows in the same order (no deadlock);
- rows that did not exist are inserted `ON CONFLICT DO NOTHING`; a key another sink inserted
  meanwhile comes back as not inserted, and is read again, locked, merged and written;
- SQLite transactions begin IMMEDIATE (engine.py): one batch at a time.

The link pass (`links.py`) and freshness run in the same transaction.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Select,
    Table,
    cast,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import JSONB

from connectors.gather import links, pg_batch, plan
from connectors.gather.freshness import advance, newest_commits
from connectors.gather.plan import Key, Match
from connectors.gather.schema import accounts, models, records, users
from schemas.gather import EntityKind, GatherUpsert

TABLES = {EntityKind.ACCOUNT: accounts, EntityKind.USER: users, EntityKind.RECORD: records}
CHUNK = 1000  # keys per read statement (bind parameters stay far below the drivers' limits)


@dataclass
class ApplyResult:
    written: int = 0  # rows inserted or changed
    # update-existing upserts whose Gather entity does not exist (they create none), by
    # (tenant, Salesforce object)
    unmatched: Counter[tuple[str, str]] = field(default_factory=Counter)
    tenants: set[str] = field(default_factory=set)
    newest: dict[str, datetime] = field(default_factory=dict)  # tenant -> newest commit applied
    inserted: dict[str, int] = field(default_factory=dict)  # table -> new rows
    unaccounted: list[Key] = field(default_factory=list)  # users this batch left without AccountId


class SqlStore:
    """The store on any SQLAlchemy engine; `for_engine` picks the dialect's differences."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @staticmethod
    def for_engine(engine: Engine) -> SqlStore:
        if engine.dialect.name == "postgresql":
            return PostgresStore(engine)
        return SqliteStore(engine)

    def apply(self, batch: list[GatherUpsert], now: datetime) -> ApplyResult:
        result = ApplyResult(tenants={u.tenant for u in batch})
        with self.engine.begin() as db:
            self._prepare(db)
            self._serialize_links(db, links.accounts_touched(batch))
            for kind, table in TABLES.items():
                upserts = [u for u in batch if u.kind is kind]
                if upserts:
                    self._apply_table(db, kind, table, upserts, now, result)
            self._link(db, batch, result, now)
            result.newest = newest_commits(batch)
            self._advance(db, result.newest, now)
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

    # --- one table of a batch ------------------------------------------------------------------

    def _apply_table(
        self,
        db: Connection,
        kind: EntityKind,
        table: Table,
        upserts: list[GatherUpsert],
        now: datetime,
        result: ApplyResult,
    ) -> None:
        touched, unmatched = plan.group(upserts, self._matches(db, table, upserts))
        result.unmatched.update(unmatched)
        stored = self._read(db, kind, table, sorted(touched))
        pending = set(touched)
        while pending:  # a second round only for keys another sink inserted meanwhile
            fresh, changed = self._plan(kind, touched, stored, pending)
            self._update(db, table, changed, now)
            inserted = self._insert(db, kind, table, fresh, now)
            result.written += len(changed) + len(inserted)
            result.inserted[table.name] = result.inserted.get(table.name, 0) + len(inserted)
            if kind is EntityKind.USER:  # a new row has no account to lose
                result.unaccounted += [
                    plan.key_of_row(kind, row) for row in changed if row["sf_account_id"] is None
                ]
            pending = {plan.key_of_row(kind, row) for row in fresh} - inserted
            stored |= self._read(db, kind, table, sorted(pending))

    def _plan(
        self,
        kind: EntityKind,
        touched: dict[Key, list[GatherUpsert]],
        stored: dict[Key, dict[str, Any]],
        keys: Iterable[Key],
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(rows to insert, rows to update) for `keys`, in key order; unchanged rows neither."""
        fresh: list[dict[str, Any]] = []
        changed: list[dict[str, Any]] = []
        for key in sorted(keys):
            existing = stored.get(key)
            before = plan.row_of(existing) if existing else None
            row = plan.fold(before, touched[key])
            if row is None or row == before:
                continue
            (changed if existing else fresh).append(plan.columns(kind, key, row))
        return fresh, changed

    def _read(
        self, db: Connection, kind: EntityKind, table: Table, keys: Sequence[Key]
    ) -> dict[Key, dict[str, Any]]:
        """The stored rows of `keys`, in key order; SQLite's write lock, taken at BEGIN
        IMMEDIATE, holds them for this transaction (PostgreSQL: `pg_batch.read`)."""
        columns = [table.c[name] for name in plan.key_columns(kind)]
        found: dict[Key, dict[str, Any]] = {}
        for at in range(0, len(keys), CHUNK):
            query = select(table).where(tuple_(*columns).in_(keys[at : at + CHUNK]))
            for row in db.execute(query.order_by(*columns)).mappings():
                found[tuple(row[c.name] for c in columns)] = dict(row)
        return found

    def _update(
        self, db: Connection, table: Table, rows: list[dict[str, Any]], now: datetime
    ) -> None:
        """Rows that exist and this transaction holds: one statement for all of them."""
        if not rows:
            return
        statement = self._upsert(table)
        keys = [c.name for c in table.primary_key.columns]
        values = {name for name in rows[0] if name not in keys} | {"updated_at"}
        statement = statement.on_conflict_do_update(
            index_elements=keys, set_={name: statement.excluded[name] for name in sorted(values)}
        )
        db.execute(statement, [row | {"updated_at": now} for row in rows])

    def _insert(
        self,
        db: Connection,
        kind: EntityKind,
        table: Table,
        rows: list[dict[str, Any]],
        now: datetime,
    ) -> set[Key]:
        """Rows that did not exist; the keys this transaction inserted (the others exist now:
        a concurrent sink inserted them, and they are merged again)."""
        if not rows:
            return set()
        columns = [table.c[name] for name in plan.key_columns(kind)]
        statement = self._upsert(table).on_conflict_do_nothing().returning(*columns)
        stamped = [row | {"created_at": now, "updated_at": now} for row in rows]
        return {tuple(row) for row in db.execute(statement, stamped)}

    def _matches(
        self, db: Connection, table: Table, upserts: list[GatherUpsert]
    ) -> dict[Match, list[str]]:
        """Update-existing: the ids of the rows holding each upsert's match value, one query per
        tenant, model and trait."""
        wanted: dict[tuple[str, str | None, str], set[str]] = {}
        for upsert in upserts:
            if (match := plan.match_of(upsert)) is not None:
                wanted.setdefault((match.tenant, match.model, match.trait), set()).add(match.value)
        found: dict[Match, list[str]] = {}
        for (tenant, model, trait), values in wanted.items():
            query = self._match(table, tenant, trait, sorted(values))
            if model is not None:
                query = query.where(table.c.model == model)
            for gather_id, value in db.execute(query.order_by(table.c.id)):
                found.setdefault(Match(tenant, model, trait, value), []).append(gather_id)
        return found

    # --- dialect differences -------------------------------------------------------------------

    def _prepare(self, db: Connection) -> None:
        """Settings of the batch's transaction."""

    def _link(
        self, db: Connection, batch: list[GatherUpsert], result: ApplyResult, now: datetime
    ) -> None:
        links.link(db, batch, now)

    def _advance(self, db: Connection, newest: dict[str, datetime], now: datetime) -> None:
        advance(db, newest, now)

    def _upsert(self, table: Table) -> Any:
        """The dialect's INSERT with ON CONFLICT, for the generic reads and writes above
        (SQLite's; PostgreSQL writes through `pg_batch`)."""
        raise NotImplementedError

    def _match(self, table: Table, tenant: str, trait: str, values: list[str]) -> Select[Any]:
        """(id, the trait's value) of the tenant's rows whose trait holds one of `values`."""
        raise NotImplementedError

    def _serialize_links(self, db: Connection, pairs: list[tuple[str, str]]) -> None:
        """Make the batches touching one Salesforce account run one after the other, so the
        later one's link pass sees the other's committed rows."""


class PostgresStore(SqlStore):
    """Reads and writes through `pg_batch`: a batch per statement, its rows as arrays.

    Under READ COMMITTED a batch does not see another's uncommitted rows: two sinks writing a
    user and its account at once would each link before the other commits, and neither would
    make the link. A transaction-scoped advisory lock per (tenant, Salesforce account), taken
    in one order before the batch's first write, makes the later batch wait for the earlier
    one's commit; its link pass then sees that commit. Taking them first (not after the rows'
    own locks) keeps two batches from each holding what the other waits for.
    https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS"""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.growth = pg_batch.Growth()

    def apply(self, batch: list[GatherUpsert], now: datetime) -> ApplyResult:
        result = super().apply(batch, now)
        if grown := self.growth.grown(result.inserted):
            with self.engine.begin() as db:
                pg_batch.analyze(db, grown)
        return result

    def _prepare(self, db: Connection) -> None:
        # Every statement of a batch finds its rows by key through an index. With a batch's
        # keys a percent of a table, the planner's costs preferred a sequential scan of the
        # whole table per statement (a 100,000-upsert run: 0.57 ms of server CPU per upsert,
        # 1,489 rows/s); a scan is never right here, so it is ruled out for this transaction.
        # https://www.postgresql.org/docs/current/runtime-config-query.html#RUNTIME-CONFIG-QUERY-ENABLE
        db.exec_driver_sql("SET LOCAL enable_seqscan = off")

    def _serialize_links(self, db: Connection, pairs: list[tuple[str, str]]) -> None:
        pg_batch.lock_accounts(db, pairs)

    def _read(
        self, db: Connection, kind: EntityKind, table: Table, keys: Sequence[Key]
    ) -> dict[Key, dict[str, Any]]:
        return pg_batch.read(db, table.name, keys) if keys else {}

    def _update(
        self, db: Connection, table: Table, rows: list[dict[str, Any]], now: datetime
    ) -> None:
        if rows:
            pg_batch.update(db, table.name, rows, now)

    def _insert(
        self,
        db: Connection,
        kind: EntityKind,
        table: Table,
        rows: list[dict[str, Any]],
        now: datetime,
    ) -> set[Key]:
        return pg_batch.insert(db, table.name, rows, now) if rows else set()

    def _link(
        self, db: Connection, batch: list[GatherUpsert], result: ApplyResult, now: datetime
    ) -> None:
        pg_batch.relink(db, links.accounts_touched(batch), now)
        pg_batch.unlink(db, result.unaccounted, now)

    def _advance(self, db: Connection, newest: dict[str, datetime], now: datetime) -> None:
        pg_batch.advance(db, newest, now)

    def _match(self, table: Table, tenant: str, trait: str, values: list[str]) -> Select[Any]:
        # one containment per value, OR-ed: each is answered by the GIN index (schema.py)
        wanted = [cast(literal(json.dumps({trait: value})), JSONB) for value in values]
        containment = or_(*(table.c.traits.op("@>")(one) for one in wanted))
        value = table.c.traits[trait].as_string()
        return select(table.c.id, value).where(table.c.tenant == tenant, containment)


class SqliteStore(SqlStore):
    """Transactions begin IMMEDIATE (engine.py), so a read-modify-write holds the write lock,
    and batches, their link passes included, run one at a time."""

    def _upsert(self, table: Table) -> sqlite.Insert:
        return sqlite.insert(table)

    def _match(self, table: Table, tenant: str, trait: str, values: list[str]) -> Select[Any]:
        extracted = func.json_extract(table.c.traits, text(f"'$.\"{trait}\"'"))
        return select(table.c.id, extracted).where(table.c.tenant == tenant, extracted.in_(values))
