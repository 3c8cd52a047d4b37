"""The whole pipeline on this machine: end-to-end delay, a 1,000,000-record backfill, and each
stage's throughput against a bare baseline measured in the same run.

    .venv/bin/python -m bench.pipeline            # or: make bench-pipeline
    .venv/bin/python -m bench.pipeline --quick    # small sizes, a couple of minutes

Needs the local broker and PostgreSQL (KAFKA_BOOTSTRAP_SERVERS and GATHER_DATABASE_URL, else
`deploy/local/kafka.sh start` and `deploy/local/postgres.sh start` are run). Each scenario has
a topic prefix (KAFKA_TOPIC_PREFIX), consumer groups and a PostgreSQL database of its own, so
nothing of the shared broker's history is read; all are deleted at the end.

1. e2e: `sfsim serve` on real time with live traffic, a tenant applied, the listener, the Faust
   worker and the sink as processes into PostgreSQL. Delay of a change = the store row's
   `updated_at` (the sink's clock) minus the Salesforce commit time (the row's newest version).
2. backfill: sfsim loaded with N Accounts (a state file built by `bench.pipeline_data`),
   `gather-sync backfill` (Bulk API 2.0) with the worker and the sink running; records/s =
   N / seconds from the backfill's start until the store holds them all.
3. faust: the worker over a pre-filled `sf.changes` (after the tenant's describe types on
   `sf.schemas`, as the listener publishes them) until all its upserts are out, against a bare
   aiokafka loop that consumes, parses with pydantic and produces a message of that size.
   floor: on the same changes, a Faust app doing only what that bare loop does, the worker's
   way (bench/faust_floor.py), without and with a table write per change: the most a Faust
   worker reaches here, whatever its rules cost.
4. sink: `gather-sync sink` over pre-filled Gather topics until it committed every offset,
   against bare psycopg `executemany` upserts of the same rows in batches of SINK_BATCH_SIZE.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import ssl
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient
from psycopg.types.json import Jsonb

from bench import pipeline_kit as kit
from bench.pipeline_data import cdc_changes, expected_upserts, object_schemas
from connectors.gather.rows import merge
from connectors.gather.sink import SinkSettings
from connectors.kafka.settings import KafkaSettings
from connectors.kafka.topics import TopicSpec, provision_topics
from schemas.changes import SalesforceChange
from schemas.gather import EntityKind, GatherUpsert
from schemas.loader import validate_tenant_config
from schemas.tenant import TenantConfig
from schemas.versions import Version

TENANT = "bench"
SCENARIOS = ("e2e", "backfill", "faust", "floor", "sink")
QUICK = {"records": 20_000, "messages": 5_000, "seconds": 20.0, "warmup": 15.0}
FULL = {"records": 1_000_000, "messages": 100_000, "seconds": 60.0, "warmup": 30.0}


# --- the run -------------------------------------------------------------------------------------


@dataclass
class Context:
    run: str
    svc: kit.Services
    kafka: KafkaSettings
    root: Path
    args: argparse.Namespace
    stages: list[kit.Stage] = field(default_factory=list)
    others: list[subprocess.Popen[str]] = field(default_factory=list)
    databases: list[str] = field(default_factory=list)
    problems: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    _data: tuple[list[SalesforceChange], list[GatherUpsert]] | None = None

    def stage(self, name: str, db: bool) -> kit.Stage:
        a = self.args
        stage = kit.open_stage(self.run, name, self.svc, self.root, a.partitions, db, a.profile)
        self.stages.append(stage)
        if stage.database:
            self.databases.append(stage.database)
        return stage

    def data(self) -> tuple[list[SalesforceChange], list[GatherUpsert]]:
        """Scenarios 3 and 4 share one change stream and the upserts it gives."""
        if self._data is None:
            changes = cdc_changes(TENANT, self.args.messages)
            self._data = changes, expected_upserts(offline_config(), changes)
        return self._data

    def finish(self, stage: kit.Stage) -> None:
        kit.stop(stage)
        for process in self.others:
            _end(process)
        self.problems[stage.name] = kit.log_problems(stage)

    def close(self) -> None:
        for stage in self.stages:
            kit.stop(stage)
        for process in self.others:
            _end(process)
        if self.args.keep:
            return
        for name in self.databases:
            kit.drop_database(self.svc.admin_url, name)
        groups = [g for s in self.stages for g in _groups(s)]
        kit.delete_run_groups(self.kafka, groups)
        kit.delete_run_topics(self.kafka, self.run)


def _groups(stage: kit.Stage) -> list[str]:
    env = stage.env()
    names = ("LISTENER_GROUP_ID", "WORKER_APP_ID", "SINK_GROUP_ID")
    return [env[n] for n in names] + [f"{stage.tag}-bare"]


def _end(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=180)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def tenant_document(credentials: dict[str, Any] | None, contacts: bool) -> dict[str, Any]:
    url = credentials["url"] if credentials else "https://sfsim.invalid"
    client_id = credentials["client_id"] if credentials else "bench"
    document: dict[str, Any] = {
        "tenant": TENANT,
        "salesforce": {
            "instance_url": url,
            "login_url": url,
            "auth": {
                "flow": "client_credentials",
                "client_id": client_id,
                "client_secret": {"env": kit.SECRET_VAR},
            },
        },
        "accounts": {"sync_mode": "create_new", "id_field": "Id"},
    }
    if contacts:
        document["contacts"] = {"sync_mode": "create_new", "id_field": "Email"}
    return document


def offline_config() -> TenantConfig:
    return validate_tenant_config(tenant_document(None, contacts=True))


# --- sfsim ---------------------------------------------------------------------------------------


def sfsim(stage: kit.Stage, ctx: Context, *options: str) -> dict[str, Any]:
    """`sfsim serve` as its own process (logs in the stage's directory); its credentials."""
    tls = stage.workdir / "sfsim"
    tls.mkdir(exist_ok=True)
    with (stage.workdir / "sfsim.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "sfsim.cli", "serve", "--tls-dir", str(tls), *options],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            cwd=kit.REPO,
        )
    ctx.others.append(process)
    assert process.stdout is not None
    credentials: dict[str, Any] = json.loads(process.stdout.readline())
    stage.extra = {
        kit.SECRET_VAR: credentials["client_secret"],
        "LISTENER_SALESFORCE_CA_FILE": credentials["ca"],
    }
    return credentials


def sfsim_state(credentials: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{credentials['url']}/sfsim/admin/state", data=b"{}", method="POST"
    )
    context = ssl.create_default_context(cafile=credentials["ca"])
    with urllib.request.urlopen(request, context=context, timeout=60) as response:
        state: dict[str, Any] = json.loads(response.read())
    return state


# --- 1. end-to-end delay -------------------------------------------------------------------------

CHANGED_ROWS = """
SELECT 'accounts', tenant, id, trait_versions, deleted_version, updated_at
  FROM accounts WHERE updated_at >= %(since)s
UNION ALL
SELECT 'users', tenant, id, trait_versions, deleted_version, updated_at
  FROM users WHERE updated_at >= %(since)s
"""


@dataclass
class Delays:
    written: list[float] = field(default_factory=list)  # updated_at - commit, ms
    seen: list[float] = field(default_factory=list)  # first poll that saw it - commit, ms
    keys: set[tuple[Any, ...]] = field(default_factory=set)


def scenario_e2e(ctx: Context) -> dict[str, Any]:
    a = ctx.args
    stage = ctx.stage("e2e", db=True)
    options = ["--accounts", str(a.e2e_accounts), "--traffic-rate", str(a.rate)]
    credentials = sfsim(stage, ctx, *options, "--poll-timeout-ms", "30000")
    kit.apply_config(stage, tenant_document(credentials, contacts=True))
    load_start = kit.load()
    start_pipeline(ctx, stage, credentials)
    kit.cli(stage, "backfill", "--tenant", TENANT)
    time.sleep(a.warmup)
    start_ms = time.time() * 1000
    end_ms = start_ms + a.seconds * 1000
    replay_ids = [sfsim_state(credentials)["last_replay_id"]]
    delays = sample_delays(
        stage.database_url,
        (start_ms, end_ms),
        a.seconds + a.drain,
        lambda: replay_ids.append(sfsim_state(credentials)["last_replay_id"]),
    )
    events = replay_ids[-1] - replay_ids[0]
    if not delays.written:
        # nothing of the window reached the store within the drain: a failed run, not 0 ms
        raise RuntimeError(
            f"0 of the window's row versions reached the store within {a.drain:g} s "
            f"({events} change events made at {events / a.seconds:.0f}/s)"
        )
    result = {
        "rate": a.rate,
        "achieved_rate": events / a.seconds,
        "events": events,
        "seconds": a.seconds,
        "rows": len(delays.written),
        "written_ms": summary(delays.written),
        "seen_ms": summary(delays.seen),
    }
    return result | usage(stage, load_start) | finish(ctx, stage)


def start_pipeline(ctx: Context, stage: kit.Stage, credentials: dict[str, Any]) -> None:
    kit.spawn(stage, "sink", ["-m", "cli.main", "sink"])
    kit.spawn(stage, "worker", kit.WORKER)
    kit.spawn(stage, "listener", ["-m", "cli.main", "listen"])
    assert wait_stable(ctx, stage.env()["WORKER_APP_ID"]), "the worker did not start"
    subscribed = kit.wait_for(lambda: sfsim_state(credentials)["cometd_polling"] >= 1, 120, 1)
    assert subscribed, "the listener did not subscribe"


def wait_stable(ctx: Context, group: str) -> bool:
    admin = AdminClient(ctx.kafka.admin_config())
    return kit.wait_for(lambda: kit.group_stable(admin, group), 180, 1)


def sample_delays(
    url: str, window: tuple[float, float], seconds: float, at_window_end: Callable[[], object]
) -> Delays:
    """Poll the store every 0.2 s; each (row, newest version) committed in the window counts
    once. Rows written later than `seconds` from now are not waited for. `at_window_end` runs
    once when the window closes (to read how many changes sfsim made in it)."""
    since = datetime.fromtimestamp(window[0] / 1000, UTC)
    delays, ended = Delays(), False
    deadline = time.monotonic() + seconds
    with psycopg.connect(kit.libpq(url), autocommit=True) as db:
        while time.monotonic() < deadline:
            polled_ms = time.time() * 1000
            if not ended and polled_ms >= window[1]:
                at_window_end()
                ended = True
            for row in db.execute(CHANGED_ROWS, {"since": since}).fetchall():
                record(delays, row, window, polled_ms)
            time.sleep(0.2)
    return delays


def record(delays: Delays, row: Any, window: tuple[float, float], polled_ms: float) -> None:
    table, tenant, gather_id, versions, deleted_version, updated_at = row
    encoded = [*versions.values(), *([deleted_version] if deleted_version else [])]
    newest = max((Version.decode(v) for v in encoded), key=Version.as_tuple)
    key = (table, tenant, gather_id, newest.as_tuple())
    if not window[0] <= newest.commit_ts <= window[1] or key in delays.keys:
        return
    delays.keys.add(key)
    delays.written.append(updated_at.timestamp() * 1000 - newest.commit_ts)
    delays.seen.append(polled_ms - newest.commit_ts)


def summary(values: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else values
    return {"p50": cuts[49] if len(cuts) > 1 else cuts[0], "p99": cuts[-1], "max": max(values)}


# --- 2. backfill ---------------------------------------------------------------------------------


def scenario_backfill(ctx: Context) -> dict[str, Any]:
    n = ctx.args.records
    stage = ctx.stage("backfill", db=True)
    seeded = seed_state(stage.workdir / "org.json", n)
    began = time.monotonic()
    credentials = sfsim(stage, ctx, "--state-file", str(stage.workdir / "org.json"))
    seeded["sfsim_load_s"] = time.monotonic() - began
    kit.apply_config(stage, tenant_document(credentials, contacts=False))
    load_start = kit.load()
    for name in ("sink", "worker"):
        kit.spawn(stage, name, ["-m", "cli.main", "sink"] if name == "sink" else kit.WORKER)
    for group in (stage.env()["WORKER_APP_ID"], stage.env()["SINK_GROUP_ID"]):
        assert wait_stable(ctx, group), f"{group} did not become stable"
    timing = run_backfill(ctx, stage, n)
    result = seeded | timing | {"records": n}
    return result | usage(stage, load_start) | finish(ctx, stage)


def seed_state(path: Path, accounts: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.pipeline_data", "--accounts", str(accounts), "--out", path],
        cwd=kit.REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    made = json.loads(done.stdout.strip().splitlines()[-1])
    return {"seed_s": made["seconds"], "seed_peak_rss_mib": made["peak_rss_mib"]}


def run_backfill(ctx: Context, stage: kit.Stage, n: int) -> dict[str, Any]:
    """Start `gather-sync backfill`; poll the store (and each stage's progress) every 2 s."""
    started = time.monotonic()
    backfill = kit.spawn(stage, "backfill", ["-m", "cli.main", "backfill", "--tenant", TENANT])
    consumer = Consumer(ctx.kafka.consumer_config(f"{stage.tag}-reader"))
    timeline: list[dict[str, float]] = []
    published_s, stored = 0.0, 0
    deadline = started + max(1800.0, n / 100)
    with psycopg.connect(kit.libpq(stage.database_url), autocommit=True) as db:
        while stored < n and time.monotonic() < deadline:
            time.sleep(2)
            if not published_s and backfill.poll() is not None:
                published_s = time.monotonic() - started
            stored = store_count(db)
            timeline.append(progress(consumer, stage, time.monotonic() - started, stored))
            if len(timeline) % 30 == 0:
                print(f"  backfill: {timeline[-1]}", flush=True)
    seconds = time.monotonic() - started
    consumer.close()
    return {
        "stored": stored,
        "seconds": seconds,
        "records_per_s": stored / seconds,
        "backfill_exit": backfill.poll(),
        "published_s": published_s,
        "timeline": timeline,
    }


def store_count(db: psycopg.Connection[Any]) -> int:
    row = db.execute("SELECT count(*) FROM accounts WHERE tenant = %s", (TENANT,)).fetchone()
    return int(row[0]) if row else 0


def progress(consumer: Consumer, stage: kit.Stage, at: float, stored: int) -> dict[str, float]:
    return {
        "s": round(at, 1),
        "sf_changes": kit.end_offsets(consumer, [stage.topics.sf_changes]),
        "upserts": kit.end_offsets(consumer, stage.topics.gather_data),
        "stored": stored,
    }


# --- 3. Faust worker against a bare aiokafka loop ------------------------------------------------


@dataclass
class Throughput:
    messages: int
    seconds: float  # from the start (process or client) until the last output
    first_s: float  # from the start until the first output: the start-up
    cpu: dict[str, float] = field(default_factory=dict)  # CpuUse.as_dict() of the processes

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0

    @property
    def steady_rate(self) -> float:
        busy = self.seconds - self.first_s
        return self.messages / busy if busy > 0 else self.rate

    def as_dict(self) -> dict[str, float]:
        return asdict(self) | {"per_s": self.rate, "steady_per_s": self.steady_rate}


@dataclass
class CpuUse:
    """CPU seconds (user + system) of a stage's processes, read when an output count grows: at
    the first output (start-up and imports are before it) and at the last."""

    first_cpu: float = 0.0
    first_count: int = 0
    last_cpu: float = 0.0
    last_count: int = 0

    def saw(self, count: int, cpu: float) -> None:
        if not self.first_count:
            self.first_cpu, self.first_count = cpu, count
        self.last_cpu, self.last_count = cpu, count

    def as_dict(self) -> dict[str, float]:
        steady = self.last_count - self.first_count
        return asdict(self) | {
            "ms_per_output": 1000 * self.last_cpu / self.last_count if self.last_count else 0.0,
            "ms_per_output_steady": 1000 * (self.last_cpu - self.first_cpu) / steady
            if steady > 0
            else 0.0,
        }


def cpu_seconds(pids: Iterable[int]) -> float:
    """utime + stime of each process from /proc/<pid>/stat (fields 14 and 15)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def spawn_replicas(
    stage: kit.Stage, name: str, args: list[str], replicas: int
) -> list[subprocess.Popen[bytes]]:
    """`replicas` processes of one stage at once, in one consumer group (the stage's), each with
    a Faust data directory of its own; named `name`, `name-2`, ... (their logs and RSS)."""
    processes = []
    for i in range(replicas):
        label = name if i == 0 else f"{name}-{i + 1}"
        stage.extra = stage.extra | {"WORKER_DATADIR": str(stage.workdir / f"faust-{label}")}
        processes.append(kit.spawn(stage, label, args))
    return processes


def scenario_faust(ctx: Context) -> dict[str, Any]:
    changes, upserts = ctx.data()
    stage = ctx.stage("faust", db=False)
    kit.apply_config(stage, tenant_document(None, contacts=True), org_check=False)
    source = stage.topics.sf_changes
    # the describe types first, as the listener publishes them at subscribe time
    kit.produce(ctx.kafka, schema_messages(stage, offline_config()))
    kit.produce(ctx.kafka, ((source, c.key, c.model_dump_json().encode()) for c in changes))
    load_start = kit.load()
    worker, sent = time_worker(ctx, stage, len(changes), len(upserts))
    rss = kit.peak_rss_mib(stage.processes["worker"].pid)
    problems = finish(ctx, stage)
    target = stage.topic("bench.bare-out")
    admin = AdminClient(ctx.kafka.admin_config())
    provision_topics(admin, [TopicSpec(target, ctx.args.partitions)], 1)
    bare = asyncio.run(bare_loop(ctx.svc.bootstrap, source, target, f"{stage.tag}-bare", changes))
    return {
        "replicas": ctx.args.replicas,
        "messages": len(changes),
        "upserts": len(upserts),
        "upserts_sent": sent,
        "worker": worker.as_dict(),
        "bare": bare.as_dict(),
        "ratio": worker.rate / bare.rate,
        "steady_ratio": worker.steady_rate / bare.steady_rate,
        "worker_peak_rss_mib": rss,
        "load_start": load_start,
        "load_end": kit.load(),
    } | problems


def scenario_floor(ctx: Context) -> dict[str, Any]:
    """The Faust floor (bench/faust_floor.py) without and with a table, then the bare loop, on
    the faust scenario's changes: how near the bare loop a Faust worker doing nothing else gets."""
    changes, _ = ctx.data()
    stage = ctx.stage("floor", db=False)
    admin = AdminClient(ctx.kafka.admin_config())
    source, load_start, results = stage.topic("bench.floor-in"), kit.load(), {}
    provision_topics(admin, [TopicSpec(source, ctx.args.partitions)], 1)
    kit.produce(ctx.kafka, ((source, c.key, c.model_dump_json().encode()) for c in changes))
    for variant in ("plain", "table"):
        target = stage.topic(f"bench.floor-{variant}")
        provision_topics(admin, [TopicSpec(target, ctx.args.partitions)], 1)
        stage.extra = stage.extra | _floor_env(stage, variant, source, target)
        floor = kit.spawn(stage, f"floor-{variant}", FLOOR)
        results[variant] = time_out(ctx, [floor], [target], len(changes), variant).as_dict()
        _end(floor)
    problems = finish(ctx, stage)
    target = stage.topic("bench.bare-out")
    provision_topics(admin, [TopicSpec(target, ctx.args.partitions)], 1)
    bare = asyncio.run(bare_loop(ctx.svc.bootstrap, source, target, f"{stage.tag}-bare", changes))
    rates = {v: (r["per_s"], r["steady_per_s"]) for v, r in results.items()}
    return {
        "messages": len(changes),
        "floor": results,
        "bare": bare.as_dict(),
        "ratios": {
            v: (rate / bare.rate, steady / bare.steady_rate) for v, (rate, steady) in rates.items()
        },
        "load_start": load_start,
        "load_end": kit.load(),
    } | problems


FLOOR = ["-m", "faust", "-A", "bench.faust_floor", "worker", "-l", "warn", "--without-web"]


def _floor_env(stage: kit.Stage, variant: str, source: str, target: str) -> dict[str, str]:
    return {
        "FLOOR_SOURCE": source,
        "FLOOR_TARGET": target,
        "FLOOR_TABLE": "1" if variant == "table" else "0",
        "WORKER_APP_ID": f"{stage.tag}-floor-{variant}",
        "WORKER_DATADIR": str(stage.workdir / f"faust-floor-{variant}"),
    }


def time_out(
    ctx: Context,
    processes: list[subprocess.Popen[bytes]],
    topics: list[str],
    expected: int,
    what: str,
) -> Throughput:
    """From now until `topics` hold `expected` messages (or stood still for 60 s)."""
    consumer = Consumer(ctx.kafka.consumer_config(f"{ctx.run}-floor-reader"))
    done = lambda out, still, started: out >= expected or _settled(False, still, started)  # noqa: E731
    out, first, seconds, cpu = watch_out(consumer, processes, topics, time.monotonic(), done)
    assert out >= expected, f"{what}: {out} of {expected} out (see its log: --keep)"
    return Throughput(expected, seconds, first, cpu.as_dict())


def watch_out(
    consumer: Consumer,
    processes: list[subprocess.Popen[bytes]],
    topics: list[str],
    started: float,
    done: Callable[[int, float, bool], bool],
) -> tuple[int, float, float, CpuUse]:
    """Count the messages on `topics` until `done(count, seconds unchanged, any out)`: the
    count, the first output's and the last increase's seconds after `started`, and the CPU the
    processes used. Closes the consumer."""
    out, first, moved, cpu = 0, 0.0, started, CpuUse()
    while not done(out, time.monotonic() - moved, bool(first)):
        time.sleep(0.25)
        for process in processes:
            assert process.poll() is None, f"a process exited ({process.returncode})"
        now_out = kit.end_offsets(consumer, topics)
        if now_out != out:
            out, moved = now_out, time.monotonic()
            first = first or moved - started
            cpu.saw(out, cpu_seconds(p.pid for p in processes))
    consumer.close()
    return out, first, moved - started, cpu


def schema_messages(stage: kit.Stage, config: TenantConfig) -> list[tuple[str, str, bytes]]:
    """`sf.schemas` as the listener writes it: one ObjectSchema per synced object."""
    topic = stage.topics.sf_schemas
    return [(topic, s.key, s.model_dump_json().encode()) for s in object_schemas(config)]


def time_worker(
    ctx: Context, stage: kit.Stage, changes: int, expected: int
) -> tuple[Throughput, int]:
    """From the worker's start until the Gather topics hold every expected upsert and no more
    come for 3 s (its first re-evaluation through `worker.control` re-sends the records already
    in its state then), or their count stood still for 60 s (180 s before the first upsert:
    the start-up on a loaded machine). The time is that of the last increase."""
    consumer = Consumer(ctx.kafka.consumer_config(f"{stage.tag}-reader"))
    started = time.monotonic()
    workers = spawn_replicas(stage, "worker", kit.WORKER, ctx.args.replicas)
    done = lambda out, still, first: _settled(out >= expected, still, first)  # noqa: E731
    topics = stage.topics.gather_data
    out, first, seconds, cpu = watch_out(consumer, workers, topics, started, done)
    assert out, "the worker sent nothing (see its log: --keep)"
    return Throughput(changes, seconds, first, cpu.as_dict()), out


def _settled(complete: bool, still_for: float, started: bool) -> bool:
    return (complete and still_for >= 3) or still_for >= (60 if started else 180)


async def bare_loop(
    bootstrap: str, source: str, target: str, group: str, changes: list[SalesforceChange]
) -> Throughput:
    """Consume each message, parse it with pydantic, produce one message of its size."""
    started = time.monotonic()
    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await consumer.start()
    await producer.start()
    try:
        done, first = await _pump(consumer, producer, target, len(changes), started)
        await producer.flush()
    finally:
        await producer.stop()
        await consumer.stop()
    return Throughput(done, time.monotonic() - started, first)


async def _pump(
    consumer: Any, producer: Any, target: str, expected: int, started: float
) -> tuple[int, float]:
    done, first = 0, 0.0
    while done < expected:
        batches = await consumer.getmany(timeout_ms=1000, max_records=1000)
        for messages in batches.values():
            for message in messages:
                SalesforceChange.model_validate_json(message.value)
                await producer.send(target, key=message.key, value=bytes(len(message.value)))
                done += 1
        if done and not first:
            first = time.monotonic() - started
    return done, first


# --- 4. sink against bare batched upserts --------------------------------------------------------

VALUE_COLUMNS = ("sf_id", "traits", "trait_versions", "deleted", "deleted_version")
TABLES: dict[EntityKind, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    EntityKind.ACCOUNT: ("accounts", ("tenant", "id"), ()),
    EntityKind.USER: ("users", ("tenant", "id"), ("sf_account_id",)),
    EntityKind.RECORD: ("records", ("tenant", "model", "id"), ()),
}


def scenario_sink(ctx: Context) -> dict[str, Any]:
    _, upserts = ctx.data()
    stage = ctx.stage("sink", db=True)
    kit.apply_config(stage, tenant_document(None, contacts=True), org_check=False)
    kit.produce(ctx.kafka, (_message(stage, u) for u in upserts))
    load_start = kit.load()
    sink = time_sink(ctx, stage, len(upserts))
    rss = kit.peak_rss_mib(stage.processes["sink"].pid)
    problems = finish(ctx, stage)
    bare_stage = ctx.stage("bare", db=True)
    batch = SinkSettings().batch_size
    bare = bare_upserts(bare_stage.database_url, upserts, batch)
    return {
        "replicas": ctx.args.replicas,
        "upserts": len(upserts),
        "batch_size": batch,
        "sink": sink.as_dict(),
        "bare": bare.as_dict(),
        "ratio": sink.rate / bare.rate,
        "steady_ratio": sink.steady_rate / bare.steady_rate,
        "rows": {"sink": rows_in(stage.database_url), "bare": rows_in(bare_stage.database_url)},
        "sink_peak_rss_mib": rss,
        "load_start": load_start,
        "load_end": kit.load(),
    } | problems


def _message(stage: kit.Stage, upsert: GatherUpsert) -> tuple[str, str, bytes]:
    topic = stage.topics.gather_topic(upsert.kind)
    return topic, upsert.key, upsert.model_dump_json().encode()


def time_sink(ctx: Context, stage: kit.Stage, expected: int) -> Throughput:
    """From the sink's start until its group committed every offset of the Gather topics (the
    sink commits a batch's offsets after its database transaction), or stood still for 60 s."""
    consumer = Consumer(ctx.kafka.consumer_config(stage.env()["SINK_GROUP_ID"]))
    topics = stage.topics.gather_data
    started = time.monotonic()
    sinks = spawn_replicas(stage, "sink", ["-m", "cli.main", "sink"], ctx.args.replicas)
    done, first, moved, cpu, store = 0, 0.0, started, CpuUse(), CpuUse()
    with psycopg.connect(kit.libpq(ctx.svc.admin_url), autocommit=True) as admin:
        while done < expected and time.monotonic() - moved < 60:
            time.sleep(0.25)
            now_done = kit.committed(consumer, topics)
            if now_done != done:
                done, moved = now_done, time.monotonic()
                first = first or moved - started
                cpu.saw(done, cpu_seconds(s.pid for s in sinks))
                store.saw(done, cpu_seconds(backends(admin, stage.database)))
    consumer.close()
    both = cpu.as_dict() | {f"store_{k}": v for k, v in store.as_dict().items()}
    return Throughput(done, moved - started, first, both)


def backends(admin: psycopg.Connection[Any], database: str | None) -> list[int]:
    """PostgreSQL's server processes serving a database (its sinks' connections): the store's
    own CPU for the sink's writes, on this machine where the server runs."""
    rows = admin.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
        (database,),
    )
    return [int(pid) for (pid,) in rows.fetchall()]


def bare_upserts(url: str, upserts: list[GatherUpsert], batch: int) -> Throughput:
    """INSERT ... ON CONFLICT DO UPDATE with executemany, one transaction per batch; the rows
    are shaped (`rows.merge` onto nothing) before the clock starts."""
    now = datetime.now(UTC)
    shaped = [(TABLES[u.kind], _params(u, now)) for u in upserts]
    with psycopg.connect(kit.libpq(url)) as db:
        started = time.monotonic()
        for at in range(0, len(shaped), batch):
            _write_batch(db, shaped[at : at + batch])
        seconds = time.monotonic() - started
    return Throughput(len(shaped), seconds, 0.0)  # connected before the clock: no start-up


def _write_batch(db: psycopg.Connection[Any], rows: list[tuple[Any, tuple[Any, ...]]]) -> None:
    by_table: dict[Any, list[tuple[Any, ...]]] = {}
    for table, params in rows:
        by_table.setdefault(table, []).append(params)
    with db.cursor() as cursor:
        for table, batch in by_table.items():
            cursor.executemany(_upsert_sql(*table), batch)
    db.commit()


def _upsert_sql(table: str, keys: tuple[str, ...], extra: tuple[str, ...]) -> str:
    columns = (*keys, *VALUE_COLUMNS, *extra, "created_at", "updated_at")
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in (*VALUE_COLUMNS, *extra, "updated_at"))
    marks = ", ".join(["%s"] * len(columns))
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
    )


def _params(upsert: GatherUpsert, now: datetime) -> tuple[Any, ...]:
    assert upsert.gather_id is not None, "the bench tenant creates rows (create_new)"
    row = merge(None, upsert)
    keys = (upsert.tenant, *([upsert.model] if upsert.model else []), upsert.gather_id)
    values = (row.sf_id, Jsonb(row.traits), Jsonb(row.trait_versions), row.deleted)
    extra = (row.sf_account_id,) if upsert.kind is EntityKind.USER else ()
    return (*keys, *values, row.deleted_version, *extra, now, now)


def rows_in(url: str) -> int:
    with psycopg.connect(kit.libpq(url)) as db:
        row = db.execute("SELECT (SELECT count(*) FROM accounts) + (SELECT count(*) FROM users)")
        found = row.fetchone()
    return int(found[0]) if found else 0


# --- shared --------------------------------------------------------------------------------------


def usage(stage: kit.Stage, load_start: list[float]) -> dict[str, Any]:
    return {
        "worker_peak_rss_mib": kit.peak_rss_mib(stage.processes["worker"].pid),
        "sink_peak_rss_mib": kit.peak_rss_mib(stage.processes["sink"].pid),
        "load_start": load_start,
        "load_end": kit.load(),
    }


def finish(ctx: Context, stage: kit.Stage) -> dict[str, Any]:
    ctx.finish(stage)
    return {"log_problems": ctx.problems[stage.name]}


RUNNERS = {
    "e2e": scenario_e2e,
    "backfill": scenario_backfill,
    "faust": scenario_faust,
    "floor": scenario_floor,
    "sink": scenario_sink,
}


# --- the table ---------------------------------------------------------------------------------


def render(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        f"Run {results['run']} of {results['date']}: {m['cores']} cores, {m['mem_gib']} GiB; "
        f"load average (1, 5, 15 min) {_load(m['load'])} at the start, "
        f"{_load(results['load_end'])} at the end.",
        "",
        "| scenario | size | result | baseline, same run | ratio | peak RSS MiB worker / sink "
        "| load 1 min start -> end |",
        "| --- | --- | --- | --- | ---: | ---: | ---: |",
    ]
    rows = {
        "e2e": _e2e_rows,
        "backfill": _backfill_rows,
        "faust": _faust_rows,
        "floor": _floor_rows,
        "sink": _sink_rows,
    }
    for name, result in results["scenarios"].items():
        if "error" in result:
            lines.append(_row(name, "-", f"failed: {result['error']}", "-", "-", "-", "-"))
        else:
            lines += rows[name](result)
    return "\n".join(lines)


def _load(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def _row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def _rss(worker: float | None, sink: float | None) -> str:
    return " / ".join(f"{v:.0f}" if v else "-" for v in (worker, sink))


def _loads(r: dict[str, Any]) -> str:
    return f"{r['load_start'][0]:.2f} -> {r['load_end'][0]:.2f}"


def _e2e_rows(r: dict[str, Any]) -> list[str]:
    size = (
        f"{r['rate']:g} changes/s asked, {r['achieved_rate']:.0f}/s made ({r['events']} change "
        f"events) in {r['seconds']:g} s; {r['rows']} row versions arrived"
    )
    rss = _rss(r["worker_peak_rss_mib"], r["sink_peak_rss_mib"])
    rows = []
    for label, key in (("store row `updated_at`", "written_ms"), ("seen by a reader", "seen_ms")):
        d = r[key]
        result = f"p50 {d['p50']:.0f} ms, p99 {d['p99']:.0f} ms, max {d['max']:.0f} ms"
        rows.append(_row(f"delay: sfsim commit -> {label}", size, result, "-", "-", rss, _loads(r)))
    return rows


def _backfill_rows(r: dict[str, Any]) -> list[str]:
    size = f"{r['records']:,} Accounts, Bulk API 2.0 -> PostgreSQL"
    result = (
        f"**{r['records_per_s']:,.0f} records/s** ({r['stored']:,} in {r['seconds']:.0f} s; "
        f"the backfill command ended after {r['published_s']:.0f} s)"
    )
    rss = _rss(r["worker_peak_rss_mib"], r["sink_peak_rss_mib"])
    return [_row("backfill", size, result, "-", "-", rss, _loads(r))]


def _faust_rows(r: dict[str, Any]) -> list[str]:
    w, b = r["worker"], r["bare"]
    size = f"{r['messages']:,} changes -> {r['upserts_sent']:,} upserts ({r['upserts']:,} expected)"
    result = (
        f"{w['per_s']:,.0f} msg/s from process start ({w['seconds']:.1f} s); "
        f"{w['steady_per_s']:,.0f} msg/s after the first upsert"
    )
    base = f"bare aiokafka consume, parse, produce: {b['per_s']:,.0f} msg/s ({b['seconds']:.1f} s)"
    ratio = f"{r['ratio']:.3f} ({r['steady_ratio']:.3f} steady)"
    rss = _rss(r["worker_peak_rss_mib"], None)
    name = _replicas("Faust worker", r) + _cpu(w, "upsert out")
    return [_row(name, size, result, base, ratio, rss, _loads(r))]


def _floor_rows(r: dict[str, Any]) -> list[str]:
    b, rows = r["bare"], []
    base = f"bare aiokafka consume, parse, produce: {b['per_s']:,.0f} msg/s ({b['seconds']:.1f} s)"
    for variant, f in r["floor"].items():
        what = "parse, send" + (", a table write per change" if variant == "table" else "")
        result = (
            f"{f['per_s']:,.0f} msg/s from process start ({f['seconds']:.1f} s); "
            f"{f['steady_per_s']:,.0f} msg/s after the first message out"
        )
        rate, steady = r["ratios"][variant]
        name = f"Faust floor: {what}" + _cpu(f, "message out")
        size = f"{r['messages']:,} changes"
        rows.append(
            _row(name, size, result, base, f"{rate:.3f} ({steady:.3f} steady)", "-", _loads(r))
        )
    return rows


def _sink_rows(r: dict[str, Any]) -> list[str]:
    k, b = r["sink"], r["bare"]
    size = f"{r['upserts']:,} upserts -> {r['rows']['sink']:,} rows, batches of {r['batch_size']}"
    result = (
        f"{k['per_s']:,.0f} rows/s from process start ({k['seconds']:.1f} s); "
        f"{k['steady_per_s']:,.0f} after the first commit"
    )
    base = f"bare `executemany` upserts: {b['per_s']:,.0f} rows/s ({b['seconds']:.1f} s)"
    ratio = f"{r['ratio']:.3f} ({r['steady_ratio']:.3f} steady)"
    rss = _rss(None, r["sink_peak_rss_mib"])
    name = _replicas("sink", r) + _cpu(k, "upsert") + _cpu(k, "upsert", "store_", "PostgreSQL ")
    return [_row(name, size, result, base, ratio, rss, _loads(r))]


def _replicas(name: str, r: dict[str, Any]) -> str:
    n = r.get("replicas", 1)
    return f"{name}, {n} replicas" if n > 1 else name


def _cpu(throughput: dict[str, Any], unit: str, key: str = "", who: str = "") -> str:
    """CPU of the stage's processes (or, key "store_", of PostgreSQL's server processes serving
    them) per output after the first, all replicas together."""
    ms = (throughput.get("cpu") or {}).get(f"{key}ms_per_output_steady")
    return f" ({who}CPU {ms:.2f} ms per {unit} after the first)" if ms else ""


# --- main ----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--records", type=int, help="backfill size (1,000,000; quick 20,000)")
    parser.add_argument("--messages", type=int, help="Faust and sink size (100,000; quick 5,000)")
    parser.add_argument("--rate", type=float, default=30.0, help="e2e: org changes a second")
    parser.add_argument("--seconds", type=float, help="e2e: measured window (60; quick 20)")
    parser.add_argument("--warmup", type=float, help="e2e: seconds before the window (30)")
    parser.add_argument("--drain", type=float, default=15.0, help="e2e: seconds after it")
    parser.add_argument("--e2e-accounts", type=int, default=200, help="e2e: seed accounts")
    parser.add_argument("--partitions", type=int, default=6, help="partitions of data topics")
    parser.add_argument(
        "--replicas",
        type=int,
        default=1,
        help="faust and sink: worker / sink processes started at once in one group",
    )
    parser.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated scenarios")
    parser.add_argument(
        "--profile",
        default="",
        help="comma-separated processes (listener, worker, sink, backfill) to sample with py-spy "
        "into .local/bench/profiles/ (their top frames are printed when they stop)",
    )
    parser.add_argument("--out", type=Path, help="JSON file (.local/bench/pipeline-<time>.json)")
    parser.add_argument(
        "--keep", action="store_true", help="keep topics, databases and process logs"
    )
    args = parser.parse_args(argv)
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.only = [s for s in args.only.split(",") if s]
    args.profile = frozenset(p for p in args.profile.split(",") if p)
    unknown = set(args.only) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios {sorted(unknown)}; choose from {', '.join(SCENARIOS)}")
    return args


def run_scenario(ctx: Context, name: str) -> dict[str, Any]:
    """One scenario; a failure is recorded (and its processes stopped), the run goes on."""
    print(f"[{time.strftime('%H:%M:%S')}] {name} ...", flush=True)
    try:
        return RUNNERS[name](ctx)
    except Exception as e:
        for stage in ctx.stages:
            ctx.finish(stage)
        print(f"{name} failed: {type(e).__name__}: {e}", flush=True)
        return {"error": f"{type(e).__name__}: {e}", "log_problems": ctx.problems}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    svc = kit.services()
    now = datetime.now(UTC)
    results: dict[str, Any] = {
        "run": uuid.uuid4().hex[:6],
        "date": now.strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(["python -m bench.pipeline", *(argv or sys.argv[1:])]),
        "machine": kit.machine(),
        "source": kit.source_state(),
        "worker_store": os.environ.get("WORKER_STORE", "memory:// (the default)"),
        "scenarios": {},
    }
    out = args.out or kit.REPO / f".local/bench/pipeline-{now:%Y%m%dT%H%M%S}.json"
    with kit.workdir(args.keep, results["run"], "pipeline") as root:
        ctx = Context(results["run"], svc, kit.kafka_settings(svc), root, args)
        try:
            for name in args.only:
                results["scenarios"][name] = run_scenario(ctx, name)
                results["load_end"] = kit.load()
                kit.write_json(out, results)  # a long run keeps what it measured so far
        finally:
            ctx.close()
    print(render(results))
    print(f"\nwritten to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
