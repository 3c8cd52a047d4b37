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

# Every statement serves the whole batch, whichever tenants it spans (a sink's poll over many
# tenants' partitions holds upserts of hundreds of them): the keys are arrays joined with
# `unnest`. The join is answered through the primary key once the table's statistics are
# current (`Growth` below keeps them so while this sink fills it).
_KEYS = {
    "accounts": ("tenant", "id"),
    "users": ("tenant", "id"),
    "records": ("tenant", "model", "id"),
}
_VALUES = ("sf_id", "traits", "trait_versions", "deleted", "deleted_version", "deleted_reason")
_TYPES = {"traits": "jsonb", "trait_versions": "jsonb", "deleted": "bool"}


def value_columns(table: str) -> tuple[str, ...]:
    return (*_VALUES, "sf_account_id") if table == "users" else _VALUES


def _on(table: str) -> str:
    return " AND ".join(f"t.{k} = v.{k}" for k in _KEYS[table])


def _unnest(columns: Sequence[str]) -> str:
    arrays = ", ".join(f"%b::{_TYPES.get(c, 'text')}[]" for c in columns)
    return f"unnest({arrays}) AS v({', '.join(columns)})"


def _arrays(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> list[list[Any]]:
    return [
        [Jsonb(row[c]) if _TYPES.get(c) == "jsonb" else row[c] for row in rows] for c in columns
    ]


def _columns_of(keys: Sequence[Sequence[Any]], width: int) -> list[list[Any]]:
    return [[key[i] for key in keys] for i in range(width)]


def read(db: Connection, table: str, keys: Iterable[Key]) -> dict[Key, dict[str, Any]]:
    """The rows of `keys`, locked FOR UPDATE in key order (see store.py)."""
    names = _KEYS[table]
    query = (
        f"SELECT t.* FROM {table} t JOIN {_unnest(names)} ON {_on(table)} "
        f"ORDER BY {', '.join(f't.{k}' for k in names)} FOR UPDATE OF t"
    )
    found = {}
    for row in db.exec_driver_sql(query, tuple(_columns_of(sorted(keys), len(names)))).mappings():
        found[tuple(row[k] for k in names)] = dict(row)
    return found


def update(db: Connection, table: str, rows: Sequence[dict[str, Any]], now: datetime) -> None:
    """Rows this transaction holds: one statement."""
    columns = (*_KEYS[table], *value_columns(table))
    sets = ", ".join(f"{c} = v.{c}" for c in value_columns(table))
    query = (
        f"UPDATE {table} t SET {sets}, updated_at = %s FROM {_unnest(columns)} WHERE {_on(table)}"
    )
    db.exec_driver_sql(query, (now, *_arrays(rows, columns)))


def insert(db: Connection, table: str, rows: Sequence[dict[str, Any]], now: datetime) -> set[Key]:
    """New rows; the keys inserted (a key another transaction inserted first is not)."""
    names = _KEYS[table]
    columns = (*names, *value_columns(table))
    query = (
        f"INSERT INTO {table} ({', '.join(columns)}, created_at, updated_at) "
        f"SELECT v.*, %s, %s FROM {_unnest(columns)} "
        f"ON CONFLICT DO NOTHING RETURNING {', '.join(names)}"
    )
    inserted = db.exec_driver_sql(query, (now, now, *_arrays(rows, columns)))
    return {tuple(found) for found in inserted}


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
    SELECT p.tenant, p.sf_account, (
        SELECT a.id FROM accounts a
        WHERE a.tenant = p.tenant AND a.sf_id = p.sf_account
          AND (a.traits <> '{}'::jsonb OR a.trait_versions <> '{}'::jsonb)
        ORDER BY a.deleted, a.id LIMIT 1
    ) AS id
    FROM unnest(%b::text[], %b::text[]) AS p(tenant, sf_account)
)
UPDATE users u SET account_id = o.id, updated_at = %b FROM o
WHERE u.tenant = o.tenant AND u.sf_account_id = o.sf_account AND u.account_id IS DISTINCT FROM o.id
"""


def relink(db: Connection, pairs: Sequence[tuple[str, str]], now: datetime) -> int:
    """Users of each (tenant, Salesforce account) point at its Gather account, or at none when
    there is no such row; how many moved."""
    if not pairs:
        return 0
    return int(db.exec_driver_sql(_RELINK, (*_columns_of(pairs, 2), now)).rowcount)


def unlink(db: Connection, users: Sequence[Key], now: datetime) -> int:
    """Users (tenant, id) this batch left without an AccountId lose their account: only a
    write that cleared a user's AccountId can leave it linked (a relink links only users with
    one), so the rows the batch changed are all there is to look at, by primary key."""
    if not users:
        return 0
    query = (
        "UPDATE users t SET account_id = NULL, updated_at = %b "
        "FROM unnest(%b::text[], %b::text[]) AS v(tenant, id) "
        "WHERE t.tenant = v.tenant AND t.id = v.id AND t.account_id IS NOT NULL"
    )
    return int(db.exec_driver_sql(query, (now, *_columns_of(sorted(users), 2))).rowcount)


def advance(db: Connection, newest: dict[str, datetime], now: datetime) -> None:
    """Each tenant's freshness mark moves forward, never back (freshness.py), in one statement."""
    if not newest:
        return
    tenants = sorted(newest)
    db.exec_driver_sql(
        "INSERT INTO tenant_freshness (tenant, newest_commit_at, applied_at) "
        "SELECT v.tenant, v.commit_at, %b FROM unnest(%b::text[], %b::timestamptz[]) "
        "AS v(tenant, commit_at) ON CONFLICT (tenant) DO UPDATE "
        "SET newest_commit_at = excluded.newest_commit_at, applied_at = excluded.applied_at "
        "WHERE tenant_freshness.newest_commit_at < excluded.newest_commit_at",
        (now, tenants, [newest[t] for t in tenants]),
    )


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
