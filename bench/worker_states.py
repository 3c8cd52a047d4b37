"""The Faust worker's memory with many record states: N changes of N distinct Accounts.

    WORKER_STORE=rocksdb:// .venv/bin/python -m bench.worker_states --records 1000000

Pre-fills `sf.changes` (after the tenant's config and describe types) with one CREATE of about
a dozen fields per Account, starts the worker, and waits until its `records` changelog holds
every state; prints one JSON line: the worker's peak and final RSS (VmHWM, VmRSS), the store,
the seconds from the worker's start and the states per second. Needs the local broker
(KAFKA_BOOTSTRAP_SERVERS, else `deploy/local/kafka.sh start` is run).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
from confluent_kafka import Consumer

from bench import pipeline_kit as kit
from bench.pipeline import TENANT, offline_config, schema_messages, tenant_document
from connectors.kafka.settings import KafkaSettings

START_TS = 1_700_000_000_000


def changes(topic: str, count: int) -> Iterator[tuple[str, str, bytes]]:
    """One CREATE per Account, values of the sizes an org's accounts have."""
    for n in range(count):
        record_id = f"001Dn{n:010d}AAA"
        fields = {
            "Id": record_id,
            "Name": f"Account {n} Holdings",
            "AccountNumber": f"A-{n:08d}",
            "Industry": "Manufacturing",
            "Phone": f"+1 415 555 {n % 10000:04d}",
            "Website": f"https://account{n}.example.com",
            "NumberOfEmployees": n % 5000,
            "AnnualRevenue": float(n % 100000) * 1000.0,
            "BillingStreet": f"{n % 900 + 100} Market Street",
            "BillingCity": "San Francisco",
            "BillingState": "CA",
            "BillingPostalCode": "94105",
            "BillingCountry": "US",
        }
        change = {
            "tenant": TENANT,
            "object": "Account",
            "record_id": record_id,
            "change_type": "CREATE",
            "version": {"commit_ts": START_TS + n, "commit_number": n, "sequence": 0},
            "fields": fields,
        }
        yield topic, f"{TENANT}:Account:{record_id}", orjson.dumps(change)


def rss_mib(pid: int) -> dict[str, float]:
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmHWM:", "VmRSS:")):
            found[line.split(":")[0]] = int(line.split()[1]) / 1024
    return found


def run(records: int, partitions: int, keep: bool) -> dict[str, object]:
    svc = kit.services()
    kafka = kit.kafka_settings(svc)
    run_id = uuid.uuid4().hex[:6]
    with kit.workdir(keep, run_id, "worker-states") as root:
        stage = kit.open_stage(run_id, "states", svc, root, partitions, db=False)
        try:
            return _measure(stage, kafka, records)
        finally:
            kit.stop(stage)
            if not keep:
                kit.delete_run_groups(kafka, [f"{stage.tag}-worker", f"{stage.tag}-reader"])
                kit.delete_run_topics(kafka, run_id)


def _measure(stage: kit.Stage, kafka: KafkaSettings, records: int) -> dict[str, object]:
    kit.apply_config(stage, tenant_document(None, contacts=True), org_check=False)
    kit.produce(kafka, schema_messages(stage, offline_config()))
    produced = time.monotonic()
    kit.produce(kafka, changes(stage.topics.sf_changes, records))
    produced = time.monotonic() - produced
    consumer = Consumer(kafka.consumer_config(f"{stage.tag}-reader"))
    changelog = f"{stage.tag}-worker-records-changelog"
    started = time.monotonic()
    worker = kit.spawn(stage, "worker", kit.WORKER)
    stored, moved, samples = 0, started, []
    while stored < records and time.monotonic() - moved < 120:
        time.sleep(1.0)
        assert worker.poll() is None, f"the worker exited ({worker.returncode})"
        samples.append(rss_mib(worker.pid))
        now = kit.end_offsets(consumer, [changelog])
        if now != stored:
            stored, moved = now, time.monotonic()
    time.sleep(5)  # settled: what the worker holds once the states are written
    final = rss_mib(worker.pid)
    consumer.close()
    return {
        "store": os.environ.get("WORKER_STORE", "memory://"),
        "records": records,
        "states_written": stored,
        "produce_s": round(produced, 1),
        "seconds": round(moved - started, 1),
        "states_per_s": round(stored / (moved - started), 1),
        "peak_rss_mib": round(final["VmHWM"], 1),
        "final_rss_mib": round(final["VmRSS"], 1),
        "rss_mib_by_minute": [round(s["VmRSS"]) for s in samples[::60]],
        "load": kit.load(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--keep", action="store_true", help="keep topics and process logs")
    args = parser.parse_args()
    print(json.dumps(run(args.records, args.partitions, args.keep)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
