"""The PostgreSQL store's batch statements: a whole batch per statement, its rows passed as one
array per column and joined with `unnest`.

The query text never depends on the batch's size, so psycopg prepares each statement once per
connection and a batch costs one round trip per statement; SQLAlchemy's multi-row VALUES made a
new text per size, re-parsed on both sides (it was the top frame of the sink's profile).
https://www.postgresql.org/docs/current/functions-array.html#ARRAY-FUNCTIONS-TABLE (unnest)
https://www.psycopg.org/psycopg3/docs/advanced/prepare.html
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import Connection

from connectors.gather.plan import Key

# Every statement names one tenant (and model): its rows are found through the primary key or
# an index (`tenant = %s AND id = ANY(%s)`), whatever the planner thinks of the arrays' size; a
# join on `unnest` alone let it choose a sequential scan of the whole table per batch.
_SCOPES = {"accounts": ("tenant",), "users": ("tenant",), "records": ("tenant", "model")}
_VALUES = ("sf_id", "traits", "trait_versions", "deleted", "deleted_version", "deleted_reason")
_TYPES = {"traits": "jsonb", "trait_versions": "jsonb", "deleted": "bool"}


def value_columns(table: str) -> tuple[str, ...]:
    return (*_VALUES, "sf_account_id") if table == "users" else _VALUES


def by_scope(keys: Iterable[Key]) -> dict[tuple[str, ...], list[str]]:
    """Keys grouped by their scope (the key without its id), scopes and ids sorted: locks are
    taken in key order."""
    scopes: dict[tuple[str, ...], list[str]] = {}
    for key in sorted(keys):
        scopes.setdefault(key[:-1], []).append(key[-1])
    return scopes


def _where(table: str, alias: str = "t") -> str:
    scope = " AND ".join(f"{alias}.{c} = %s" for c in _SCOPES[table])
    return f"{scope} AND {alias}.id = ANY(%b::text[])"


def _unnest(columns: Sequence[str]) -> str:
    arrays = ", ".join(f"%b::{_TYPES.get(c, 'text')}[]" for c in columns)
    return f"unnest({arrays}) AS v({', '.join(columns)})"


def _arrays(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> list[list[Any]]:
    return [
        [Jsonb(row[c]) if _TYPES.get(c) == "jsonb" else row[c] for row in rows] for c in columns
    ]


def read(db: Connection, table: str, keys: Iterable[Key]) -> dict[Key, dict[str, Any]]:
    """The rows of `keys`, locked FOR UPDATE in key order (see store.py)."""
    found = {}
    for scope, ids in by_scope(keys).items():
        query = f"SELECT * FROM {table} t WHERE {_where(table)} ORDER BY t.id FOR UPDATE"
        for row in db.exec_driver_sql(query, (*scope, ids)).mappings():
            found[(*scope, row["id"])] = dict(row)
    return found


def update(db: Connection, table: str, rows: Sequence[dict[str, Any]], now: datetime) -> None:
    """Rows this transaction holds: one statement per tenant (and model)."""
    values = value_columns(table)
    sets = ", ".join(f"{c} = v.{c}" for c in values)
    query = (
        f"UPDATE {table} t SET {sets}, updated_at = %s "
        f"FROM {_unnest(('id', *values))} WHERE {_where(table)} AND t.id = v.id"
    )
    for scope, scoped in _rows_by_scope(table, rows).items():
        ids = [row["id"] for row in scoped]
        db.exec_driver_sql(query, (now, *_arrays(scoped, ("id", *values)), *scope, ids))


def insert(db: Connection, table: str, rows: Sequence[dict[str, Any]], now: datetime) -> set[Key]:
    """New rows; the keys inserted (a key another transaction inserted first is not)."""
    names = (*_SCOPES[table], "id")
    columns = (*names, *value_columns(table))
    query = (
        f"INSERT INTO {table} ({', '.join(columns)}, created_at, updated_at) "
        f"SELECT v.*, %s, %s FROM {_unnest(columns)} "
        f"ON CONFLICT DO NOTHING RETURNING {', '.join(names)}"
    )
    inserted = db.exec_driver_sql(query, (now, now, *_arrays(rows, columns)))
    return {tuple(found) for found in inserted}


def _rows_by_scope(
    table: str, rows: Sequence[dict[str, Any]]
) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    scopes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        scopes.setdefault(tuple(row[c] for c in _SCOPES[table]), []).append(row)
    return scopes


def lock_accounts(db: Connection, pairs: Sequence[tuple[str, str]]) -> None:
    """One transaction-scoped advisory lock per (tenant, Salesforce account), all in one
    statement, taken in the order of their hashes: the same order in every transaction."""
    if not pairs:
        return
    db.exec_driver_sql(
        "SELECT count(pg_advisory_xact_lock(h)) FROM "
        "(SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest(%b::text[]) AS k ORDER BY 1) s",
        ([f"{tenant}:{sf_account}" for tenant, sf_account in pairs],),
    )


# The Gather account of a Salesforce account: the live row first (an account whose id field
# changed has a deleted row under its old id too, and its users belong to the live one); never
# a tombstone that held no data (a delete of an account never synced). One index lookup each.
_RELINK = """
WITH o AS (
    SELECT p.sf_account, (
        SELECT a.id FROM accounts a
        WHERE a.tenant = %(tenant)s AND a.sf_id = p.sf_account
          AND (a.traits <> '{}'::jsonb OR a.trait_versions <> '{}'::jsonb)
        ORDER BY a.deleted, a.id LIMIT 1
    ) AS id
    FROM unnest(%(accounts)b::text[]) AS p(sf_account)
)
UPDATE users u SET account_id = o.id, updated_at = %(now)s FROM o
WHERE u.tenant = %(tenant)s AND u.sf_account_id = ANY(%(accounts)b::text[])
  AND u.sf_account_id = o.sf_account AND u.account_id IS DISTINCT FROM o.id
"""


def relink(db: Connection, pairs: Sequence[tuple[str, str]], now: datetime) -> int:
    """Users of each (tenant, Salesforce account) point at its Gather account, or at none when
    there is no such row; how many moved."""
    moved = 0
    for (tenant,), sf_accounts in by_scope(pairs).items():
        params = {"tenant": tenant, "accounts": sf_accounts, "now": now}
        moved += db.exec_driver_sql(_RELINK, params).rowcount
    return moved


@dataclass
class Growth:
    """Which tables this sink has grown enough to analyze: PostgreSQL's planner reads a table's
    size from its statistics, and autovacuum first analyzes a table up to a minute after it
    filled (then after every 10% of growth). Until then a 20,000-row table it believes to hold
    20 rows is read whole, through the tenant's index, for every batch (seen in EXPLAIN
    ANALYZE: a 500-key read took 45 ms instead of 4). Analyzing each time this sink's inserts
    double what the table held at the last analyze costs about log2(rows) ANALYZEs in all.
    https://www.postgresql.org/docs/current/routine-vacuuming.html#VACUUM-FOR-STATISTICS"""

    floor: int = 1000  # inserts before the first analyze
    since: dict[str, int] = field(default_factory=dict)  # table -> rows inserted since analyze
    threshold: dict[str, int] = field(default_factory=dict)  # table -> inserts that trigger one

    def grown(self, inserted: dict[str, int]) -> list[str]:
        tables = []
        for table, rows in inserted.items():
            self.since[table] = self.since.get(table, 0) + rows
            if self.since[table] >= self.threshold.get(table, self.floor):
                self.threshold[table] = max(self.floor, 2 * self.since[table])
                self.since[table] = 0
                tables.append(table)
        return sorted(tables)


def analyze(db: Connection, tables: Sequence[str]) -> None:
    db.exec_driver_sql(f"ANALYZE {', '.join(tables)}")
