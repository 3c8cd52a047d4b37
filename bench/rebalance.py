"""What a rebalance costs the Faust worker: how long its output pauses when a second worker joins
and when the first one stops, with its `records` table holding N record states.

    .venv/bin/python -m bench.rebalance            # or: make bench-rebalance
    .venv/bin/python -m bench.rebalance --quick    # a smoke run of about a minute and a half

Needs the local broker (KAFKA_BOOTSTRAP_SERVERS, else `deploy/local/kafka.sh start` is run). For
each store (`WORKER_STORE` memory:// and rocksdb://) and each size N, on a topic prefix and an
app id of its own: a tenant config (accounts, create-new by Id) and its describe types are
published as the tenant-apply command and the listener do, then N Account creates to
`sf.changes`; worker A (one process, a data directory of its own) takes them all. Then a steady
stream of Account updates flows (--rate a second, each to a random one of the N, each with a
version of its own) and, after --steady seconds, worker B starts (same app id, its own data
directory); once the group has settled and B has sent, --steady seconds more, then A gets SIGTERM;
once B has taken A's partitions and sent, --steady seconds more, then the traffic stops.

`sf.changes` and the Gather topics use the broker's LogAppendTime for the run, so every time is
the broker's clock: a change's time is its append to `sf.changes`, an upsert's its append to its
Gather topic. Reported per event (the steady window before the join is the baseline), each
event's window running from 1 s before it until the next event:
- longest gap, all output: the longest time between two consecutive upserts of any Gather topic;
- longest gap, one partition: the same within the upserts of the changes of one partition of
  `sf.changes` (the longest over the partitions): how long a partition's output paused;
- worst delay: the longest time from a change of the window to its first upsert;
- first output of the new owner: at the join, from B's start until B's own
  `gather_sync_messages_out` first counts (its /metrics, polled every 0.1 s); at the stop, from
  A's SIGTERM until the first upsert, appended after A exited, of a change on one of A's
  partitions (B's then; A's partitions are read from the group's description);
- re-sent: upserts beyond one per change of the window (the sink absorbs them: upserts are
  monotonic by version).
Changes whose upsert never came are counted as missing (expected 0).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaException, Message, Producer
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
)

from bench import pipeline_kit as kit
from bench.pipeline import TENANT, offline_config, schema_messages, tenant_document
from connectors.kafka.settings import KafkaSettings
from schemas.changes import ChangeSource, ChangeType, SalesforceChange
from schemas.versions import Version
from tests.support.worker import WorkerProcess, quiet

STORES = ("memory://", "rocksdb://")
QUICK = {"records": "1000", "rate": 100.0, "steady": 4.0, "stores": ",".join(STORES)}
FULL = {"records": "10000,50000", "rate": 200.0, "steady": 15.0, "stores": ",".join(STORES)}
BASE_TS = 1_700_000_000_000  # commit_ts of change n is BASE_TS + n: a version names its change
SETTLE_TIMEOUT = 240.0


# --- the traffic and what the worker sent --------------------------------------------------------


def account_id(n: int) -> str:
    return f"001{n:012d}"


def change(seq: int, record: int, create: bool) -> SalesforceChange:
    kind = ChangeType.CREATE if create else ChangeType.UPDATE
    fields: dict[str, str | None] = {"Description": f"write {seq}"}
    if create:
        fields["Name"] = f"Bench {record}"
    return SalesforceChange(
        tenant=TENANT,
        object="Account",
        record_id=account_id(record),
        change_type=kind,
        version=Version(commit_ts=BASE_TS + seq),
        fields=dict(fields),
        changed_fields=[] if create else ["Description"],
        source=ChangeSource.CDC,
    )


@dataclass
class Traffic:
    """Account updates at a steady rate from a thread; each change's partition and append time."""

    kafka: KafkaSettings
    topic: str
    records: int
    rate: float
    sent: dict[int, tuple[int, int]] = field(default_factory=dict)  # seq -> (partition, ms)
    halt: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.halt.set()
        assert self.thread is not None
        self.thread.join(60)

    def _run(self) -> None:
        producer, rng = Producer(self.kafka.producer_config()), random.Random(11)
        seq, began = self.records, time.monotonic()
        while not self.halt.is_set():
            made = change(seq, rng.randrange(self.records), create=False)
            producer.produce(
                self.topic, key=made.key, value=made.model_dump_json(), on_delivery=self._sent(seq)
            )
            producer.poll(0)
            seq += 1
            time.sleep(max(0.0, began + (seq - self.records) / self.rate - time.monotonic()))
        assert producer.flush(60) == 0, "changes left undelivered"

    def _sent(self, seq: int) -> Any:
        def done(error: Any, message: Message) -> None:
            if error is None:
                self.sent[seq] = (message.partition() or 0, message.timestamp()[1])

        return done


@dataclass
class Output:
    """Every upsert on the Gather topics from the moment it starts: (append ms, change seq)."""

    kafka: KafkaSettings
    topics: list[str]
    group: str
    seen: list[tuple[int, int]] = field(default_factory=list)
    halt: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def start(self) -> None:
        consumer = Consumer(self.kafka.consumer_config(self.group))
        wanted = [tp for topic in self.topics for tp in kit.partitions_of(consumer, topic)]
        for tp in wanted:
            tp.offset = consumer.get_watermark_offsets(tp, timeout=10)[1]
        consumer.assign(wanted)
        self.thread = threading.Thread(target=self._run, args=(consumer,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.halt.set()
        assert self.thread is not None
        self.thread.join(30)

    def _run(self, consumer: Consumer) -> None:
        while not self.halt.is_set():
            for message in consumer.consume(500, 0.2):
                if message.error() is None and message.value():
                    version = json.loads(message.value() or b"{}")["version"]
                    self.seen.append((message.timestamp()[1], version["commit_ts"] - BASE_TS))
        consumer.close()

    def first_from(self, sent: dict[int, tuple[int, int]], parts: set[int], after: int) -> int:
        """The append time of the first upsert after `after` of a change on one of `parts`."""
        times = [
            ts for ts, seq in list(self.seen) if ts > after and sent.get(seq, (-1,))[0] in parts
        ]
        return min(times) if times else 0


# --- the group ------------------------------------------------------------------------------------


def members(admin: AdminClient, group: str, topic: str) -> dict[str, set[int]]:
    """Each member of the worker's group and the partitions of `topic` it holds (the group's
    description; empty while it rebalances)."""
    try:
        described = admin.describe_consumer_groups([group])[group].result(timeout=10)
    except KafkaException:
        return {}
    if not str(described.state).endswith("STABLE"):
        return {}
    return {
        m.member_id: {tp.partition for tp in m.assignment.topic_partitions if tp.topic == topic}
        for m in described.members
    }


def settled(admin: AdminClient, group: str, topic: str, count: int) -> dict[str, set[int]]:
    """The group's members once it is stable with `count` of them, each holding some of topic."""
    found: dict[str, set[int]] = {}

    def ready() -> bool:
        nonlocal found
        found = members(admin, group, topic)
        return len(found) == count and all(found.values())

    assert kit.wait_for(ready, SETTLE_TIMEOUT), f"the group did not settle on {count} members"
    return found


# --- one scenario: a store and a size ------------------------------------------------------------


@dataclass
class Scenario:
    store: str
    records: int
    stage: kit.Stage
    kafka: KafkaSettings
    args: argparse.Namespace
    marks: dict[str, int] = field(default_factory=dict)  # event -> broker-clock ms
    facts: dict[str, Any] = field(default_factory=dict)

    def worker(self, name: str) -> WorkerProcess:
        env = self.stage.env() | {
            "WORKER_STORE": self.store,
            "WORKER_DATADIR": str(self.stage.workdir / name),
            "METRICS_PORT": str(kit.free_port()),
            "METRICS_HOST": "127.0.0.1",
        }
        log = self.stage.workdir / f"worker-{name}.log"
        return WorkerProcess(env, log, self.stage.topics, env["WORKER_APP_ID"])

    def mark(self, name: str) -> int:
        self.marks[name] = now_ms()
        return self.marks[name]


def now_ms() -> int:
    return int(time.time() * 1000)


def log_append_time(kafka: KafkaSettings, topics: list[str]) -> None:
    admin = AdminClient(kafka.admin_config())
    entry = ConfigEntry(
        "message.timestamp.type", "LogAppendTime", incremental_operation=AlterConfigOpType.SET
    )
    resources = [
        ConfigResource(ConfigResource.Type.TOPIC, t, incremental_configs=[entry]) for t in topics
    ]
    for future in admin.incremental_alter_configs(resources).values():
        future.result(timeout=30)


def prepare(s: Scenario) -> WorkerProcess:
    """The tenant, its types and N Account creates published; worker A caught up on them."""
    topics = s.stage.topics
    log_append_time(s.kafka, [topics.sf_changes, *topics.gather_data])
    kit.apply_config(s.stage, tenant_document(None, contacts=False), org_check=False)
    kit.produce(s.kafka, schema_messages(s.stage, offline_config()))
    creates = (change(n, n, create=True) for n in range(s.records))
    kit.produce(
        s.kafka, ((topics.sf_changes, c.key, c.model_dump_json().encode()) for c in creates)
    )
    a = s.worker("a")
    started = time.monotonic()
    a.start()
    assert quiet(s.kafka, a, timeout=600), "worker A did not catch up (--keep keeps its log)"
    s.facts["catch_up_s"] = time.monotonic() - started
    return a


def run_scenario(s: Scenario) -> dict[str, Any]:
    a, b = prepare(s), s.worker("b")
    admin, topic = AdminClient(s.kafka.admin_config()), s.stage.topics.sf_changes
    output = Output(s.kafka, s.stage.topics.gather_data, f"{s.stage.tag}-reader")
    traffic = Traffic(s.kafka, topic, s.records, s.args.rate)
    output.start()
    traffic.start()
    try:
        before = settled(admin, a.group, topic, 1)
        s.mark("steady")
        time.sleep(s.args.steady)
        b_start = s.mark("join")
        b.start()
        s.facts["join"] = {"first_output_s": first_metric(b) - b_start / 1000}
        after = settled(admin, a.group, topic, 2)
        s.facts["join"]["partitions"] = sorted(held_by_a(before, after, s.stage.partitions))
        time.sleep(s.args.steady)
        stop_at = s.mark("stop")
        a.stop()
        exited = now_ms()
        s.facts["a_exit_s"] = (exited - stop_at) / 1000
        settled(admin, a.group, topic, 1)
        taken = set(s.facts["join"]["partitions"])
        s.facts["stop"] = wait_output(output, traffic, taken, exited, stop_at)
        time.sleep(s.args.steady)
        s.mark("end")
    finally:
        traffic.stop()
        drained = kit.wait_for(lambda: not missing(traffic, output), 120)
        output.stop()
        for worker in (a, b):
            if worker.running():
                worker.stop()
    return summarize(s, traffic, output) | {"drained": drained}


def held_by_a(before: dict[str, set[int]], after: dict[str, set[int]], count: int) -> set[int]:
    """A's partitions once B joined: those of the member that was there before (else all but
    the newcomer's, should A have rejoined under a new member id)."""
    kept = set().union(*(p for m, p in after.items() if m in before))
    new = set().union(*(p for m, p in after.items() if m not in before))
    return kept or set(range(count)) - new


def first_metric(worker: WorkerProcess) -> float:
    """When the worker's own `gather_sync_messages_out` first counts an upsert (its /metrics,
    polled every 0.1 s): the first output of that process, whatever partition it came from."""
    url = f"http://127.0.0.1:{worker.env['METRICS_PORT']}/metrics"

    def sent() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                text = response.read().decode()
        except OSError:
            return False
        return any(
            line.startswith("gather_sync_messages_out_total{") and float(line.split()[-1]) > 0
            for line in text.splitlines()
        )

    assert kit.wait_for(sent, SETTLE_TIMEOUT, 0.1), "worker B sent nothing"
    return time.time()


def wait_output(
    output: Output, traffic: Traffic, parts: set[int], after: int, since: int
) -> dict[str, Any]:
    """Until the first upsert appended after `after` (A's exit: anything later is B's) of a change
    on `parts` (A's partitions); its time from `since` (the SIGTERM) in seconds."""
    first = 0

    def came() -> bool:
        nonlocal first
        first = output.first_from(traffic.sent, parts, after)
        return first > 0

    assert kit.wait_for(came, SETTLE_TIMEOUT, 0.2), f"no output from partitions {sorted(parts)}"
    return {"partitions": sorted(parts), "first_output_s": (first - since) / 1000}


def missing(traffic: Traffic, output: Output) -> list[int]:
    seen = {seq for _, seq in list(output.seen)}
    return [seq for seq in list(traffic.sent) if seq not in seen]


# --- the figures ---------------------------------------------------------------------------------


def summarize(s: Scenario, traffic: Traffic, output: Output) -> dict[str, Any]:
    windows = {
        "steady": (s.marks["steady"], s.marks["join"]),
        "join": (s.marks["join"], s.marks["stop"]),
        "stop": (s.marks["stop"], s.marks["end"]),
    }
    events = {name: window(traffic, output, *span) for name, span in windows.items()}
    for name in ("join", "stop"):
        events[name] |= s.facts[name]
    return {
        "store": s.store,
        "records": s.records,
        "catch_up_s": s.facts["catch_up_s"],
        "a_exit_s": s.facts["a_exit_s"],
        "changes": len(traffic.sent),
        "upserts": len(output.seen),
        "missing": len(missing(traffic, output)),
        "events": events,
    }


def window(traffic: Traffic, output: Output, start: int, end: int) -> dict[str, Any]:
    """The longest output gaps from 1 s before `start` until `end` (in all output, and in the
    output of any one partition of `sf.changes`), and the changes of the window: their worst
    delay to their first upsert, how many waited over 1 s, and upserts beyond one per change."""
    near = [(ts, seq) for ts, seq in output.seen if start - 1000 <= ts <= end]
    by_partition: dict[int, list[int]] = {}
    for ts, seq in near:
        if seq in traffic.sent:  # not the re-sends of the first writes, which no partition names
            by_partition.setdefault(traffic.sent[seq][0], []).append(ts)
    first: dict[int, int] = {}
    counts: dict[int, int] = {}
    for ts, seq in output.seen:
        first[seq] = min(ts, first.get(seq, ts))
        counts[seq] = counts.get(seq, 0) + 1
    mine = [seq for seq, (_, ts) in traffic.sent.items() if start <= ts < end]
    delays = [first[seq] - traffic.sent[seq][1] for seq in mine if seq in first]
    return {
        "seconds": (end - start) / 1000,
        "changes": len(mine),
        "longest_gap_s": longest_gap([ts for ts, _ in near]),
        "longest_partition_gap_s": max(map(longest_gap, by_partition.values()), default=0.0),
        "partition_gaps_s": {p: longest_gap(t) for p, t in sorted(by_partition.items())},
        "worst_delay_s": max(delays, default=0) / 1000,
        "delayed_over_1s": sum(d > 1000 for d in delays),
        "re_sent": sum(counts.get(seq, 0) - 1 for seq in mine if seq in counts),
    }


def longest_gap(times: list[int]) -> float:
    return max((b - a for a, b in pairwise(sorted(times))), default=0) / 1000


def render(results: dict[str, Any]) -> str:
    head = (
        "| store | records | event | longest gap, all output s | longest gap, one partition s "
        "| worst change delay s | first output of the new owner s | changes > 1 s late "
        "| re-sent | missing |"
    )
    lines = [head, "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in results["scenarios"]:
        if "error" in r:
            lines.append(f"| {r['store']} | {r['records']:,} | failed: {r['error']} ||||||||")
            continue
        for name, label in (
            ("steady", "steady, one worker (baseline)"),
            ("join", "B joins"),
            ("stop", f"A stops (SIGTERM, exits in {r['a_exit_s']:.1f} s)"),
        ):
            e = r["events"][name]
            first = f"{e['first_output_s']:.1f}" if "first_output_s" in e else "-"
            lines.append(
                f"| {r['store']} | {r['records']:,} | {label} | {e['longest_gap_s']:.2f} "
                f"| {e['longest_partition_gap_s']:.2f} "
                f"| {e['worst_delay_s']:.2f} | {first} | {e['delayed_over_1s']} of "
                f"{e['changes']} | {e['re_sent']} | {r['missing'] if name == 'stop' else ''} |"
            )
    return "\n".join(lines)


# --- main ----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1,000 records, 100/s: ~1.5 minutes")
    parser.add_argument("--records", help="record states, comma-separated (10000,50000)")
    parser.add_argument("--stores", help="WORKER_STORE values (memory://,rocksdb://)")
    parser.add_argument("--rate", type=float, help="changes a second during the run (200)")
    parser.add_argument("--steady", type=float, help="seconds between the events (15)")
    parser.add_argument("--partitions", type=int, default=6, help="as the chart's default")
    parser.add_argument("--out", type=Path, help="JSON file (.local/bench/rebalance-<time>.json)")
    parser.add_argument("--keep", action="store_true", help="keep topics and worker logs")
    args = parser.parse_args(argv)
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.sizes = [int(n) for n in str(args.records).split(",") if n]
    args.store_list = [s for s in str(args.stores).split(",") if s]
    unknown = set(args.store_list) - set(STORES)
    if unknown:
        parser.error(f"unknown stores {sorted(unknown)}; choose from {', '.join(STORES)}")
    return args


def measure(run: str, svc: kit.Services, root: Path, args: argparse.Namespace) -> list[Any]:
    kafka, found, stages = kit.kafka_settings(svc), [], []
    try:
        for store in args.store_list:
            for size in args.sizes:
                name = f"{store.split(':')[0]}-{size}"
                print(f"[{time.strftime('%H:%M:%S')}] {name} ...", flush=True)
                stage = kit.open_stage(run, name, svc, root, args.partitions, db=False)
                stages.append(stage)
                found.append(one(Scenario(store, size, stage, kafka, args)))
    finally:
        if not args.keep:
            groups = [g for s in stages for g in (s.env()["WORKER_APP_ID"], f"{s.tag}-reader")]
            kit.delete_run_groups(kafka, groups)
            kit.delete_run_topics(kafka, run)
    return found


def one(s: Scenario) -> dict[str, Any]:
    try:
        return run_scenario(s)
    except (AssertionError, KafkaException, RuntimeError) as e:
        print(f"failed: {e}", flush=True)
        return {"store": s.store, "records": s.records, "error": str(e)}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    svc, now = kit.services(), datetime.now(UTC)
    results: dict[str, Any] = {
        "run": uuid.uuid4().hex[:6],
        "date": now.strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(["python -m bench.rebalance", *(argv or sys.argv[1:])]),
        "machine": kit.machine(),
        "source": kit.source_state(),
        "faust_env": {k: v for k, v in os.environ.items() if k.startswith("BROKER_")},
    }
    out = args.out or kit.REPO / f".local/bench/rebalance-{now:%Y%m%dT%H%M%S}.json"
    with kit.workdir(args.keep, results["run"], "rebalance") as root:
        results["scenarios"] = measure(results["run"], svc, root, args)
    results["load_end"] = kit.load()
    kit.write_json(out, results)
    print(render(results))
    print(f"\nwritten to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
