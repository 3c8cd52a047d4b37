"""The store alone: its write rate against how many tenants one batch spans (issue 13, item 5).

    .venv/bin/python -m bench.store_tenants                      # 20,000 upserts; 1, 10, 100, 500
    .venv/bin/python -m bench.store_tenants --tenants 1,500 --upserts 5000

The sink's PostgreSQL statements were first scoped to a tenant (a read, an update and a relink
per tenant and table of a batch), so one batch of 500 upserts from one tenant cost a handful of
statements and the same batch spread over 500 tenants cost hundreds; this benchmark showed it,
and now each statement serves the whole batch (connectors/gather/pg_batch.py).
In production a sink's batch is what one poll of its partitions returns, and with 10,000 tenants
on six partitions nearly every upsert of a batch is from another tenant. Here the benchmark's
Account and Contact upserts (bench.pipeline_data: what the worker sends for sfsim's changes)
are dealt to N tenants by account (a contact goes with its account, so links stay within a
tenant; `--deal upsert` deals them one by one instead, so a batch spans as many tenants as it
has upserts), each N on a fresh database (created on the admin URL of `deploy/local/postgres.sh
env`, dropped at the end), and written with the sink's store (`SqlStore.apply`) in batches of
--batch in their order. Reported per N: upserts/s, statements per batch (a SQLAlchemy hook
counts them), and CPU ms per upsert of this process and of the PostgreSQL server process
serving its connection (both on this machine).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bench import pipeline_kit as kit
from bench.pipeline import TENANT, offline_config
from bench.pipeline_data import cdc_changes, expected_upserts
from connectors.gather import migrate
from connectors.gather.engine import make_engine
from connectors.gather.store import SqlStore
from schemas.gather import GatherUpsert


def dealt(upserts: list[GatherUpsert], tenants: int, by: str = "account") -> list[GatherUpsert]:
    """Each upsert moved to tenant `t<k>`. By account: k from its account's Salesforce id (a
    contact's account, else its own id), so one record's upserts stay in one tenant, in their
    order. By upsert: k = its position mod N, so consecutive upserts are other tenants' (a
    record's upserts become rows of several tenants), as in a batch polled from a partition
    that 1,000s of tenants share."""
    out = []
    for i, u in enumerate(upserts):
        anchor = u.account_sf_id or u.sf_id
        k = zlib.crc32(anchor.encode()) % tenants if by == "account" else i % tenants
        out.append(u.model_copy(update={"tenant": TENANT if tenants == 1 else f"t{k}"}))
    return out


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_one(admin_url: str, upserts: list[GatherUpsert], batch: int) -> dict[str, Any]:
    """Write `upserts` into a fresh database in batches; its figures."""
    name = f"bench_store_{uuid.uuid4().hex[:6]}"
    engine = make_engine(kit.create_database(admin_url, name), pool_size=1)
    try:
        migrate.upgrade(engine)
        store = SqlStore.for_engine(engine)
        statements = [0]
        event.listen(engine, "before_cursor_execute", lambda *_: _count(statements))
        with engine.connect() as conn:
            server = int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
        return _timed(store, upserts, batch, server, statements)
    finally:
        engine.dispose()
        kit.drop_database(admin_url, name)


def _count(statements: list[int]) -> None:
    statements[0] += 1


def _timed(
    store: SqlStore, upserts: list[GatherUpsert], batch: int, server: int, statements: list[int]
) -> dict[str, Any]:
    batches = [upserts[at : at + batch] for at in range(0, len(upserts), batch)]
    tenants_per_batch = sum(len({u.tenant for u in b}) for b in batches) / len(batches)
    statements[0] = 0
    cpu0, server0, started = time.process_time(), cpu_seconds(server), time.monotonic()
    for chunk in batches:
        store.apply(chunk, datetime.now(UTC))
    seconds = time.monotonic() - started
    n = len(upserts)
    return {
        "upserts": n,
        "batches": len(batches),
        "tenants_per_batch": tenants_per_batch,
        "seconds": seconds,
        "upserts_per_s": n / seconds,
        "statements_per_batch": statements[0] / len(batches),
        "client_cpu_ms_per_upsert": 1000 * (time.process_time() - cpu0) / n,
        "server_cpu_ms_per_upsert": 1000 * (cpu_seconds(server) - server0) / n,
    }


def render(results: dict[str, Any]) -> str:
    lines = [
        "| tenants | tenants per batch | upserts/s | statements per batch "
        "| CPU ms per upsert: sink / PostgreSQL | load 1 min before -> after |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for n, r in results["runs"].items():
        lines.append(
            f"| {n} | {r['tenants_per_batch']:.0f} | {r['upserts_per_s']:,.0f} "
            f"| {r['statements_per_batch']:.0f} "
            f"| {r['client_cpu_ms_per_upsert']:.3f} / {r['server_cpu_ms_per_upsert']:.3f} "
            f"| {r['load_before'][0]:.2f} -> {r['load_after'][0]:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--upserts", type=int, default=20_000, help="changes to derive them")
    parser.add_argument("--tenants", default="1,10,100,500", help="comma-separated tenant counts")
    parser.add_argument("--batch", type=int, default=500, help="upserts per apply (the sink's 500)")
    parser.add_argument(
        "--deal", choices=("account", "upsert"), default="account", help="see dealt()"
    )
    parser.add_argument("--out", type=Path, help="JSON (.local/bench/store-tenants-<time>.json)")
    args = parser.parse_args(argv)
    svc = kit.services()
    upserts = expected_upserts(offline_config(), cdc_changes(TENANT, args.upserts))
    now = datetime.now(UTC)
    results: dict[str, Any] = {
        "date": now.strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(["python -m bench.store_tenants", *(argv or sys.argv[1:])]),
        "machine": kit.machine(),
        "source": kit.source_state(),
        "runs": {},
    }
    for n in (int(t) for t in args.tenants.split(",") if t):
        before = kit.load()
        results["runs"][n] = run_one(svc.admin_url, dealt(upserts, n, args.deal), args.batch)
        results["runs"][n] |= {"load_before": before, "load_after": kit.load()}
        print(f"  {n} tenants: {results['runs'][n]['upserts_per_s']:,.0f} upserts/s", flush=True)
    out = args.out or kit.REPO / f".local/bench/store-tenants-{now:%Y%m%dT%H%M%S}.json"
    kit.write_json(out, results)
    print(render(results))
    print(f"\nwritten to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
