"""Data for the pipeline benchmark: realistic change streams and a large org's state file.

    .venv/bin/python -m bench.pipeline_data --accounts 1000000 --out state.json

writes an sfsim state file of that many Accounts (the values `sfsim`'s generator gives), for
`sfsim serve --state-file`. It runs as its own process so the benchmark's process does not keep
the org's memory; it prints one JSON line with the seconds it took and its peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from connectors.salesforce.normalizer import normalize
from connectors.salesforce.orgapi import scalar_types
from schemas.changes import SalesforceChange
from schemas.describe import ObjectSchema
from schemas.gather import GatherUpsert
from schemas.tenant import TenantConfig
from sfsim.clock import SystemClock
from sfsim.eventlog import ALL_CHANGE_EVENTS, EventLog
from sfsim.generator import Generator
from sfsim.metadata import ObjectDef, standard_schema
from sfsim.org import Org
from sfsim.server.app import build_state
from streams.evaluator import Evaluator

SYNCED = ("Account", "Contact")


def cdc_changes(tenant: str, count: int, seed: int = 7) -> list[SalesforceChange]:
    """`count` Account and Contact changes as the listener publishes them: an org's change
    events (about a fifth edits, moves, deletes and undeletes, the rest creates) normalized.
    Opportunities are left out: their deal moves make the worker's output depend on timing."""
    state = build_state(standard_schema(), SystemClock())
    generator = Generator(state.org, seed)
    generator.seed_org(min(500, count // 10 + 1))
    generator.burst(count // 4)  # on a small org: the generator picks records by a full scan
    changes = _synced(tenant, state.log, 0)
    while len(changes) < count:
        position = state.log.last_replay_id
        generator.seed_org((count - len(changes)) // 3 + 1)
        changes += _synced(tenant, state.log, position)
    return changes[:count]


def _synced(tenant: str, log: EventLog, after: int) -> list[SalesforceChange]:
    changes: list[SalesforceChange] = []
    for event in log.after(after, ALL_CHANGE_EVENTS, limit=10**9):
        normalized = normalize(tenant, event.message(ALL_CHANGE_EVENTS))
        if isinstance(normalized, list):
            changes += [c for c in normalized if c.object in SYNCED]
    return changes


def object_schemas(config: TenantConfig) -> list[ObjectSchema]:
    """What the listener publishes to `sf.schemas` at subscribe time: each synced object's
    types from sfsim's describe, read as the listener reads them (`scalar_types`)."""
    schema, now = standard_schema(), datetime.now(UTC)
    found = [(obj, schema.get(obj)) for obj in config.synced_objects()]
    return [
        ObjectSchema(tenant=config.tenant, object=obj, fields=_types(o), read_at=now)
        for obj, o in found
        if o is not None
    ]


def _types(obj: ObjectDef) -> dict[str, str]:
    return scalar_types({"fields": [f.describe() for f in obj.fields.values()]})


def expected_upserts(config: TenantConfig, changes: list[SalesforceChange]) -> list[GatherUpsert]:
    """What the worker sends for these changes: its evaluator over plain dicts, with the types
    of `object_schemas` (what the worker reads from `sf.schemas`)."""
    types = {(s.tenant, s.object): s.fields for s in object_schemas(config)}

    def types_of(tenant: str, obj: str) -> Mapping[str, str]:
        return types.get((tenant, obj), {})

    evaluator = Evaluator({}, {}, {config.tenant: config}, types_of)
    return [u for change in changes for u in evaluator.on_change(change)]


def write_accounts(path: Path, count: int, seed: int = 7) -> None:
    """An org of `count` Accounts saved as a state file; its change events are dropped as they
    are made (a zero retention), so memory holds only the records."""
    clock = SystemClock()
    log = EventLog(clock, retention=timedelta(0))
    org = Org(standard_schema(), clock, log)
    generator = Generator(org, seed)
    for n in range(count):
        org.create("Account", generator._account_values())
        if n % 10_000 == 0:
            log.prune()
    org.save(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    started = time.monotonic()
    write_accounts(args.out, args.accounts)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": time.monotonic() - started, "peak_rss_mib": peak}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
