"""A spec case through the product: its pure rules (`streams.evaluator.Evaluator`, with the
case's field types) fed the case's steps as Salesforce changes, one version per step, and the
upserts written by the real store (`SqlStore` on SQLite), read back as the reference's rows."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select

from connectors.gather import migrate
from connectors.gather.engine import make_engine
from connectors.gather.schema import accounts, models, records, users
from connectors.gather.store import SqlStore
from schemas.changes import ChangeSource, ChangeType, SalesforceChange
from schemas.gather import GatherUpsert
from schemas.loader import validate_tenant_config
from schemas.tenant import TenantConfig
from schemas.versions import Version
from streams.evaluator import Evaluator
from tests.spec.builders import Case
from tests.spec.reference import Key, Record, Records, Row

NOW = datetime(2026, 11, 28, tzinfo=UTC)
FIRST_COMMIT = 1_767_225_600_000  # 2026-01-01T00:00:00Z; step n commits n seconds later
NOT_FIELDS = {"Id", "IsDeleted", "attributes"}


@dataclass
class ProductRun:
    rows: dict[Key, Row]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (object, reason), as reported


def migrated(path: Path) -> Path:
    """An empty, migrated store file that each case copies (migrating per case is slow)."""
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return path


def run(case: Case, database: Path) -> ProductRun:
    engine = make_engine(f"sqlite:///{database}")
    try:
        return _run(case, engine)
    finally:
        engine.dispose()


def _run(case: Case, engine: Engine) -> ProductRun:
    store = SqlStore.for_engine(engine)
    _seed(engine, case.tenant, case.existing)
    skipped: list[tuple[str, str]] = []
    configs: dict[str, TenantConfig] = {}
    evaluator = Evaluator(
        records={},
        deals={},
        configs=configs,
        types=lambda _tenant, obj: case.types.get(obj, {}),
        on_skip=lambda _tenant, obj, reason: skipped.append((obj, reason)),
    )
    seen: dict[tuple[str, str], Record] = {}
    config = case.config
    for n, step in enumerate(case.steps):
        upserts: list[GatherUpsert] = []
        if n == 0 or step.config is not None:
            config = step.config or config
            configs[case.tenant] = _saved(store, config)
            upserts += evaluator.on_config(configs[case.tenant])
        for change in _changes(case.tenant, step.records, seen, n):
            upserts += evaluator.on_change(change)
        store.apply(upserts, NOW)
    return ProductRun(read_store(engine), skipped)


def _saved(store: SqlStore, document: Mapping[str, Any]) -> TenantConfig:
    config = validate_tenant_config(dict(document))
    wanted = [(c.model, c.object, c.id_field) for c in config.custom_objects]
    store.save_models(config.tenant, wanted, NOW)
    return config


def _seed(engine: Engine, tenant: str, existing: Mapping[str, Any]) -> None:
    tables = {"accounts": accounts, "users": users}
    with engine.begin() as db:
        for name, seeds in existing.items():
            for seed in seeds:
                values = {"tenant": tenant, "id": seed["id"], "traits": seed["traits"]}
                db.execute(insert(tables[name]).values(**values, created_at=NOW, updated_at=NOW))


def _changes(
    tenant: str,
    step: Records,
    seen: dict[tuple[str, str], Record],
    n: int,
) -> Iterator[SalesforceChange]:
    """Each record's new state: a snapshot of its fields, or a delete (a record's fields do not
    change in the step that deletes it, as in Salesforce: a delete event carries none)."""
    for sequence, (obj, record) in enumerate((o, r) for o, rs in step.items() for r in rs):
        before = seen.get((obj, record["Id"]))
        seen[(obj, record["Id"])] = record
        version = Version(commit_ts=FIRST_COMMIT + n * 1000, sequence=sequence)
        common = {"tenant": tenant, "object": obj, "record_id": record["Id"], "version": version}
        if record["IsDeleted"]:
            if before is None or _fields(before) != _fields(record):
                raise ValueError(f"{obj} {record['Id']}: show it alive, unchanged, before deleting")
            yield SalesforceChange(**common, change_type=ChangeType.DELETE)
        else:
            fields = _fields(record)
            yield SalesforceChange(
                **common,
                change_type=ChangeType.SNAPSHOT,
                fields=fields,
                source=ChangeSource.BACKFILL,
            )


def _fields(record: Record) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in NOT_FIELDS}


def read_store(engine: Engine) -> dict[Key, Row]:
    """Every row of the store as the reference writes it: (table, tenant, model, id) -> row."""
    rows: dict[Key, Row] = {}
    with engine.connect() as db:
        for table in (accounts, users, records):
            for row in db.execute(select(table)).mappings():
                key = (table.name, row["tenant"], row.get("model") or "", row["id"])
                rows[key] = _row(row)
        for model in db.execute(select(models)).mappings():
            key = ("models", model["tenant"], "", model["name"])
            rows[key] = {"object": model["sf_object"], "id_field": model["id_field"]}
    return rows


def _row(row: Any) -> Row:
    found: Row = {
        "sf_id": row["sf_id"],
        "traits": dict(row["traits"] or {}),
        "deleted": bool(row["deleted"]),
        "delete_reason": row["deleted_reason"],
    }
    if "account_id" in row:
        found |= {"sf_account_id": row["sf_account_id"], "account_id": row["account_id"]}
    return found
