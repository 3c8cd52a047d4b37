"""The backfill command alone: reading N Accounts through Bulk API 2.0 and publishing them.

    .venv/bin/python -m bench.backfill_read --records 1000000 [--profile backfill,sfsim]

sfsim serves an org of N Accounts (a state file from `bench.pipeline_data`, built once per size
and kept in .local/bench/), `gather-sync backfill` reads them and publishes them to `sf.changes`
of a topic prefix of the run's own, with no worker or sink running: the seconds from the
command's start until it exited (every message acknowledged) are the backfill's own part of
`bench.pipeline`'s backfill scenario. Also reported: the CPU seconds of the command and of
sfsim (the two share the machine's cores), and the messages on `sf.changes` afterwards.
`--profile` samples the named processes (backfill, sfsim) with py-spy (bench/profile_top.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer

from bench import pipeline as pipe
from bench import pipeline_kit as kit

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def state_file(records: int) -> Path:
    """An org of `records` Accounts, made once per size (1,000,000 take minutes)."""
    path = kit.REPO / f".local/bench/org-{records}.json"
    if not path.exists():
        pipe.seed_state(path, records)
    return path


def measure(ctx: pipe.Context, records: int) -> dict[str, Any]:
    stage = ctx.stage("read", db=False)
    org = stage.workdir / "org.json"  # sfsim saves its state there when it stops
    shutil.copyfile(state_file(records), org)
    credentials = pipe.sfsim(stage, ctx, "--state-file", str(org))
    sfsim_pid = ctx.others[-1].pid
    sfsim_spy = kit.py_spy(sfsim_pid, "sfsim") if "sfsim" in ctx.args.profile else None
    kit.apply_config(stage, pipe.tenant_document(credentials, contacts=False))
    load_start, sfsim_cpu = kit.load(), cpu_seconds(sfsim_pid)
    started = time.monotonic()
    command = kit.spawn(stage, "backfill", ["-m", "cli.main", "backfill", "--tenant", pipe.TENANT])
    cpu = 0.0
    while command.poll() is None:
        cpu = max(cpu, _cpu_or_zero(command.pid))
        time.sleep(0.2)
    seconds = time.monotonic() - started
    if sfsim_spy is not None:  # sfsim outlives the command: its profile ends with it
        sfsim_spy[0].send_signal(signal.SIGINT)
        sfsim_spy[0].wait(60)
        print(kit.profile_summary(sfsim_spy[1]), flush=True)
    consumer = Consumer(ctx.kafka.consumer_config(f"{stage.tag}-reader"))
    published = kit.end_offsets(consumer, [stage.topics.sf_changes])
    consumer.close()
    return {
        "records": records,
        "published": published,
        "seconds": seconds,
        "records_per_s": published / seconds,
        "exit": command.returncode,
        "backfill_cpu_s": cpu,
        "sfsim_cpu_s": cpu_seconds(sfsim_pid) - sfsim_cpu,
        "load_start": load_start,
        "load_end": kit.load(),
    } | pipe.finish(ctx, stage)


def _cpu_or_zero(pid: int) -> float:
    try:
        return cpu_seconds(pid)
    except (FileNotFoundError, ProcessLookupError):
        return 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--profile", default="", help="comma-separated: backfill, sfsim")
    parser.add_argument("--keep", action="store_true", help="keep topics and process logs")
    args = parser.parse_args(argv)
    args.profile = frozenset(p for p in args.profile.split(",") if p)
    svc = kit.services()
    run = uuid.uuid4().hex[:6]
    with kit.workdir(args.keep, run, "backfill-read") as root:
        ctx = pipe.Context(run, svc, kit.kafka_settings(svc), root, args)
        try:
            result = measure(ctx, args.records)
        finally:
            ctx.close()
    result |= {"uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout}
    print(json.dumps(result, indent=2, default=str))
    return 0 if result["exit"] == 0 and result["published"] == args.records else 1


if __name__ == "__main__":
    sys.exit(main())
