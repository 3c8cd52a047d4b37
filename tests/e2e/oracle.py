"""The oracle: the tenants' rules applied directly to sfsim's final records, in a store of its
own, and a row-by-row, trait-by-trait comparison with the store the pipeline wrote.

A record that stops matching its rules keeps its last synced row (the guide: "stop updating"),
so rows of records the rules skip at the end are left out of the comparison; every row the rules
do produce must be in the pipeline's store exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, select

from connectors.gather import migrate
from connectors.gather.schema import accounts, records, users
from connectors.gather.store import SqlStore
from connectors.salesforce.snapshots import row_change
from schemas.changes import ChangeSource, ChangeType, SalesforceChange
from schemas.gather import GatherUpsert
from schemas.tenant import TenantConfig
from schemas.versions import Version
from sfsim.testing import ThreadedSfsim
from streams.evaluator import Evaluator
from streams.merge import RecordState

NOW = datetime(2026, 11, 28, tzinfo=UTC)
Key = tuple[str, ...]


def final_records(org: ThreadedSfsim, objects: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Every record of the objects as the org holds them at the end, the Recycle Bin included."""
    return org.call(
        lambda: {o: [dict(r) for r in org.state.org.rows(o, include_deleted=True)] for o in objects}
    )


def record_changes(tenant: str, obj: str, row: dict[str, Any]) -> list[SalesforceChange]:
    """A record's final fields; a deleted one's fields, then its delete, one version later."""
    snapshot = row_change(tenant, obj, row | {"IsDeleted": False}, ChangeSource.BACKFILL)
    if not row["IsDeleted"]:
        return [snapshot]
    at = snapshot.version.commit_ts
    fields = snapshot.model_copy(update={"version": Version(commit_ts=at - 1)})
    delete = snapshot.model_copy(
        update={"change_type": ChangeType.DELETE, "fields": {}, "version": Version(commit_ts=at)}
    )
    return [fields, delete]


@dataclass
class Expected:
    upserts: list[GatherUpsert] = field(default_factory=list)
    skipped: dict[str, set[str]] = field(default_factory=dict)  # tenant -> live sf ids skipped


def apply_rules(configs: list[TenantConfig], org: ThreadedSfsim) -> Expected:
    """Each tenant's rules over the org's final records (both tenants read the one org)."""
    states: dict[str, RecordState] = {}
    known: dict[str, TenantConfig] = {}
    evaluator = Evaluator(states, {}, known)
    expected = Expected()
    for config in configs:
        for obj, rows in final_records(org, config.synced_objects()).items():
            for row in rows:
                for change in record_changes(config.tenant, obj, row):
                    evaluator.on_change(change)
        known[config.tenant] = config
        upserts = evaluator.on_config(config)
        expected.upserts += upserts
        expected.skipped[config.tenant] = _skipped(config.tenant, states, upserts)
    return expected


def _skipped(tenant: str, states: dict[str, RecordState], upserts: list[GatherUpsert]) -> set[str]:
    synced = {u.sf_id for u in upserts}
    return {
        s.record_id
        for k, s in states.items()
        if k.startswith(f"{tenant}:") and not s.is_deleted and s.record_id not in synced
    }


def reference_store(
    engine: Engine, configs: list[TenantConfig], seeds: list[dict[str, Any]], expected: Expected
) -> Engine:
    """The rules' upserts written into an empty store seeded like the pipeline's."""
    migrate.upgrade(engine)
    store = SqlStore.for_engine(engine)
    seed_accounts(engine, seeds)
    for config in configs:
        wanted = [(c.model, c.object, c.id_field) for c in config.custom_objects]
        store.save_models(config.tenant, wanted, NOW)
    store.apply(expected.upserts, NOW)
    return engine


def seed_accounts(engine: Engine, seeds: list[dict[str, Any]]) -> None:
    """Gather accounts that exist before the sync (what update-existing mode matches)."""
    with engine.begin() as db:
        for seed in seeds:
            db.execute(insert(accounts).values(**seed, created_at=NOW, updated_at=NOW))


def snapshot(engine: Engine) -> dict[Key, dict[str, Any]]:
    """Every row by (table, tenant, [model,] id): what the comparison looks at."""
    rows: dict[Key, dict[str, Any]] = {}
    with engine.connect() as db:
        for table in (accounts, users, records):
            for row in db.execute(select(table)).mappings():
                key = (table.name, row["tenant"], row.get("model") or "", row["id"])
                rows[key] = _compared(row)
    return rows


def _compared(row: Any) -> dict[str, Any]:
    """A deleted row's traits and link are whatever was synced last, so only its mark is compared; a
    trait set to null and one never set both mean "no value" (a CDC create omits null fields)."""
    traits = {} if row["deleted"] else _without_nulls(row["traits"])
    found = {"sf_id": row["sf_id"], "traits": traits, "deleted": row["deleted"]}
    if "account_id" in row and not row["deleted"]:
        found |= {"account_id": row["account_id"], "sf_account_id": row["sf_account_id"]}
    return found


def _without_nulls(traits: dict[str, Any]) -> dict[str, Any]:
    kept = {k: _without_nulls(v) if isinstance(v, dict) else v for k, v in traits.items()}
    return {k: v for k, v in kept.items() if v is not None and v != {}}


def differences(
    actual: dict[Key, dict[str, Any]], expected: dict[Key, dict[str, Any]], oracle: Expected
) -> list[str]:
    """Rows that differ, except those of records the rules skip at the end (kept as they were)."""
    found = []
    for key in sorted(set(actual) | set(expected)):
        got, want = actual.get(key), expected.get(key)
        if got == want or _tolerated(key[1], got, want, oracle.skipped.get(key[1], set())):
            continue
        found.append(f"{key}: store has {got}, the rules say {want}")
    return found


def _tolerated(
    tenant: str, got: dict[str, Any] | None, want: dict[str, Any] | None, skipped: set[str]
) -> bool:
    ids = {r.get("sf_id") for r in (got, want) if r} - {None}
    if ids & skipped:
        return True  # the record stopped matching: its row keeps its last synced values
    if got is None or want is None:
        # no row and a deleted row both mean no entity (a record deleted before the pipeline
        # saw its id field leaves no row; the rules, seeing its last fields, mark one deleted)
        return bool((got or want or {}).get("deleted"))
    # a user linked to an account row that stopped matching (kept), where the rules have none
    same_but_link = {k: v for k, v in got.items() if k != "account_id"} == {
        k: v for k, v in want.items() if k != "account_id"
    }
    return same_but_link and got.get("sf_account_id") in skipped
