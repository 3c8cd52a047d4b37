"""`gather-sync run`: the whole pipeline on this machine, on embedded defaults, with a live summary.

sfsim (a demo org with live traffic) -> listener -> sf.changes -> Faust worker -> Gather topics
-> sink -> SQLite (GATHER_DATABASE_URL). Each stage is its own process, as in production; Ctrl-C
stops them in reverse order.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition
from sqlalchemy import func, select

from connectors.gather import migrate
from connectors.gather.engine import make_engine
from connectors.gather.schema import accounts, records, users
from connectors.gather.settings import StoreSettings
from connectors.kafka.settings import KafkaSettings
from connectors.kafka.topics import (
    GATHER_ACCOUNTS,
    GATHER_RECORDS,
    GATHER_TENANTS,
    GATHER_USERS,
    SF_CHANGES,
    provision_contract_topics,
)
from sfsim.testing import serve_process

RUN_DIR = Path(".local/run")
SECRET_VAR = "DEMO_SF_CLIENT_SECRET"
TENANT = "demo"


def _demo_config(credentials: dict[str, Any]) -> dict[str, Any]:
    url = credentials["url"]
    return {
        "tenant": TENANT,
        "salesforce": {
            "instance_url": url,
            "login_url": url,
            "auth": {
                "flow": "client_credentials",
                "client_id": credentials["client_id"],
                "client_secret": {"env": SECRET_VAR},
            },
        },
        "accounts": {
            "sync_mode": "create_new",
            "id_field": "Id",
            "extra_traits": ["AnnualRevenue"],
        },
        "contacts": {"sync_mode": "create_new", "id_field": "Email"},
    }


def _spawn(name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    log = (RUN_DIR / f"{name}.log").open("ab")
    return subprocess.Popen([sys.executable, *args], env=env, stdout=log, stderr=subprocess.STDOUT)


def _ends(consumer: Consumer, topic: str) -> int:
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    return sum(consumer.get_watermark_offsets(TopicPartition(topic, p), 10)[1] for p in partitions)


def _rows(engine: Any) -> tuple[int, int]:
    with engine.connect() as db:
        count = [
            db.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (accounts, users, records)
        ]
    return count[0], count[1] + count[2]


def _summary(consumer: Consumer, engine: Any, started: float, base: dict[str, int]) -> str:
    changes = _ends(consumer, SF_CHANGES) - base[SF_CHANGES]
    upserts = sum(
        _ends(consumer, t) - base[t] for t in (GATHER_ACCOUNTS, GATHER_USERS, GATHER_RECORDS)
    )
    account_rows, other_rows = _rows(engine)
    elapsed = time.monotonic() - started
    return (
        f"[{elapsed:6.0f} s] changes in: {changes:7d} | upserts out: {upserts:7d} "
        f"| store: {account_rows} accounts, {other_rows} users and records"
    )


def run(_args: Any) -> int:
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    kafka, store = KafkaSettings(), StoreSettings()
    provision_contract_topics(kafka)
    engine = make_engine(store.database_url)
    migrate.upgrade(engine)
    sfsim, credentials = serve_process(
        Path(".local/sfsim"), "--accounts", "200", "--traffic-rate", "5"
    )
    env = os.environ | {
        SECRET_VAR: credentials["client_secret"],
        "LISTENER_SALESFORCE_CA_FILE": credentials["ca"],
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "GATHER_DATABASE_URL": store.database_url,
    }
    producer = Producer(kafka.producer_config())
    producer.produce(
        GATHER_TENANTS, key=TENANT.encode(), value=json.dumps(_demo_config(credentials)).encode()
    )
    producer.flush(30)
    children: list[subprocess.Popen[Any]] = [
        sfsim,
        _spawn("listener", ["-m", "cli.main", "listen"], env),
        _spawn(
            "worker",
            ["-m", "faust", "-A", "streams.app", "worker", "-l", "warn", "--without-web"],
            env,
        ),
        _spawn("sink", ["-m", "cli.main", "sink"], env),
    ]
    time.sleep(5)
    children.append(_spawn("backfill", ["-m", "cli.main", "backfill", "--tenant", TENANT], env))
    return _watch(children, kafka, engine)


def _watch(children: list[subprocess.Popen[Any]], kafka: KafkaSettings, engine: Any) -> int:
    consumer = Consumer(kafka.consumer_config("gather-sync-run-summary"))
    topics = (SF_CHANGES, GATHER_ACCOUNTS, GATHER_USERS, GATHER_RECORDS)
    base = {t: _ends(consumer, t) for t in topics}
    started = time.monotonic()
    print(f"running; logs in {RUN_DIR}/; Ctrl-C stops everything", flush=True)
    try:
        while True:
            time.sleep(2)
            print(_summary(consumer, engine, started, base), flush=True)
    except KeyboardInterrupt:
        print("\nstopping...", flush=True)
    finally:
        for child in reversed(children):
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in reversed(children):
            try:
                child.wait(timeout=60)
            except subprocess.TimeoutExpired:
                child.kill()
        consumer.close()
    print("stopped", flush=True)
    return 0
