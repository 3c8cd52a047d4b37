"""The oracle: the reference of tests/spec (the guide's rules written again, sharing no code with
the product) applied to sfsim's final records, and a row-by-row, trait-by-trait comparison with
the store the pipeline wrote.

The reference sees each tenant's org as a history of two steps: every record alive with its final
fields, then the org as it ends (the Recycle Bin's records deleted). What one end state cannot
tell is left out of the comparison:
- rows of records the rules skip at the end (filtered, not closed won): such a row keeps what was
  last synced while the record matched (the guide: it is no longer updated, not deleted);
- a deleted row's traits and link (synced while alive, perhaps before later edits): only its
  mark, its reason and its Salesforce id are compared;
- a deleted row on one side and none on the other: no Gather entity either way (the pipeline may
  have synced a record that matched before it was deleted, or never seen it match).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert

from connectors.gather.schema import accounts
from sfsim.testing import ThreadedSfsim
from tests.spec.compare import canonical
from tests.spec.product import read_store
from tests.spec.reference import Key, Records, Row, Step, Types, expected, holds

# REST writes datetimes as `...T12:00:00.000+0000`, change events as `...T12:00:00.000Z`; the
# pipeline stores the change events' text (a snapshot is put in the same form), so the oracle does
_REST_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000")
NOW = datetime(2026, 11, 28, tzinfo=UTC)


def final_records(org: ThreadedSfsim) -> dict[str, list[dict[str, Any]]]:
    """Every record of every object as the org holds it at the end, the Recycle Bin included."""
    return org.call(
        lambda: {
            o: [_event_text(r) for r in org.state.org.rows(o, include_deleted=True)]
            for o in org.state.org.schema.objects
        }
    )


def _event_text(record: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: v[:-5] + "Z" if isinstance(v, str) and _REST_DATETIME.fullmatch(v) else v
        for k, v in record.items()
    }


def org_types(org: ThreadedSfsim) -> dict[str, dict[str, str]]:
    """The org's describe types, {object: {field: type}}."""
    return {name: obj.types() for name, obj in org.state.org.schema.objects.items()}


def history(records: Records) -> list[Step]:
    alive = {o: [{**r, "IsDeleted": False} for r in rows] for o, rows in records.items()}
    return [Step(alive), Step(records)]


@dataclass
class Oracle:
    rows: dict[Key, Row] = field(default_factory=dict)  # the reference's rows, every tenant
    unsynced: dict[str, set[str]] = field(default_factory=dict)  # tenant -> live ids not synced


def apply_rules(
    configs: list[dict[str, Any]], org: ThreadedSfsim, seeds: list[dict[str, Any]]
) -> Oracle:
    """Each tenant's rules (its config document) over the org's final records."""
    records, types = final_records(org), org_types(org)
    oracle = Oracle()
    for config in configs:
        tenant = config["tenant"]
        existing = {"accounts": [s for s in seeds if s["tenant"] == tenant]}
        found = expected(config, types, history(records), existing)
        oracle.rows |= found.rows
        oracle.unsynced[tenant] = {record_id for _, record_id in found.unsynced}
    return oracle


def unexercised(
    configs: list[dict[str, Any]], records: Records, types: Types
) -> list[tuple[str, str, str]]:
    """Filter conditions that hold for every live record of their object, or for none: a
    comparison the data never puts to the test."""
    found = []
    for config in configs:
        for obj, rule in _filters(config):
            live = [r for r in records.get(obj, []) if not r["IsDeleted"]]
            for c in rule["conditions"]:
                sides = {holds(c, r.get(c["field"]), types[obj][c["field"]]) for r in live}
                if sides != {True, False}:
                    found.append((config["tenant"], obj, f"{c['field']} {c['operator']}"))
    return found


def _filters(config: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    sections = [("Account", config.get("accounts")), ("Contact", config.get("contacts"))]
    sections += [(c["object"], c) for c in config.get("custom_objects") or []]
    return [(obj, s["filter"]) for obj, s in sections if s and s.get("filter")]


def seed_accounts(engine: Engine, seeds: list[dict[str, Any]]) -> None:
    """Gather accounts that exist before the sync (what update-existing mode matches)."""
    with engine.begin() as db:
        for seed in seeds:
            db.execute(insert(accounts).values(**seed, created_at=NOW, updated_at=NOW))


# --- the comparison ----------------------------------------------------------------------------


def view(rows: Mapping[Key, Row]) -> dict[Key, Row]:
    """What is compared of each row: all of a live row; of a deleted one, its mark."""
    return {
        key: (
            {"sf_id": row["sf_id"], "deleted": True, "delete_reason": row["delete_reason"]}
            if row.get("deleted")
            else row
        )
        for key, row in canonical(rows).items()
    }


def snapshot(engine: Engine) -> dict[Key, Row]:
    """The store as compared: every row by (table, tenant, model or "", id), and every model."""
    return view(read_store(engine))


def differences(actual: Mapping[Key, Row], oracle: Oracle) -> list[str]:
    """Rows that differ, except what one end state cannot tell (see the module docstring)."""
    got_rows, want_rows = view(actual), view(oracle.rows)
    found = []
    for key in sorted(set(got_rows) | set(want_rows)):
        got, want = got_rows.get(key), want_rows.get(key)
        skipped = oracle.unsynced.get(key[1], set())
        if got == want or _tolerated(got, want, skipped, _gone(got_rows, want_rows, key[1])):
            continue
        found.append(f"{key}: store has {got}, the reference says {want}")
    return found


def _gone(got_rows: Mapping[Key, Row], want_rows: Mapping[Key, Row], tenant: str) -> set[str]:
    """Salesforce ids of the tenant's accounts the store holds deleted and the reference not at
    all, or deleted too: synced while they matched (under an older config, say) and deleted
    since, or seen by the worker only once deleted (created and deleted before the tenant's config
    or types reached it: then the store holds the delete alone, and no user is linked to it)."""
    gone = {"deleted": True}  # no row: a tombstone that held no data is compared as none
    return {
        row["sf_id"]
        for key in set(got_rows) | set(want_rows)
        if key[:2] == ("accounts", tenant)
        and (got_rows.get(key) or gone).get("deleted")
        and (want_rows.get(key) or gone).get("deleted")
        and (row := got_rows.get(key) or want_rows[key])
    }


def compared(actual: Mapping[Key, Row], oracle: Oracle) -> list[Key]:
    """The rows found equal, trait for trait: what the comparison did look at."""
    got_rows, want_rows = view(actual), view(oracle.rows)
    return [k for k, want in want_rows.items() if got_rows.get(k) == want]


def _tolerated(got: Row | None, want: Row | None, skipped: set[str], gone: set[str]) -> bool:
    ids = {r.get("sf_id") for r in (got, want) if r} - {None}
    if ids & skipped:
        return True  # the record stopped matching: its row keeps its last synced values
    if got is None or want is None:
        return bool((got or want or {}).get("deleted"))  # no entity either way
    # a user linked to an account row the reference cannot know of: one that stopped matching
    # (kept), or one synced while it matched and deleted since
    same_but_link = {k: v for k, v in got.items() if k != "account_id"} == {
        k: v for k, v in want.items() if k != "account_id"
    }
    return same_but_link and got.get("sf_account_id") in skipped | gone
