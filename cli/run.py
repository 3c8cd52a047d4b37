"""`gather-sync run`: the whole pipeline on this machine, on embedded defaults, with a live summary.

sfsim (a demo org with live traffic) -> listener -> sf.changes -> Faust worker -> Gather topics
-> sink -> SQLite (GATHER_DATABASE_URL). Each stage is its own process, as in production; Ctrl-C
stops them in reverse order. A stage that exits is started again with backoff, as Kubernetes would
(cli/restarts.py), and the output says so.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from cli.kafka_io import SyncPublisher
from cli.restarts import Stages
from connectors.gather import migrate
from connectors.gather.engine import make_engine
from connectors.gather.failures import classify as store_failure
from connectors.gather.freshness import read_freshness
from connectors.gather.schema import accounts, records, users
from connectors.gather.settings import StoreSettings
from connectors.gather.sink import SinkSettings
from connectors.kafka.errors import LagCollectionError
from connectors.kafka.failures import classify as kafka_failure
from connectors.kafka.lag_collector import LagCollector, LagFilter
from connectors.kafka.settings import KafkaSettings
from connectors.kafka.topics import provision_contract_topics
from connectors.retrying import Patience, patiently
from schemas.contract import Topics
from streams.settings import WorkerSettings

RUN_DIR = Path(".local/run")
SECRET_VAR = "DEMO_SF_CLIENT_SECRET"
TENANT = "demo"
# The demo's own topics and consumer groups: tenants and messages that test runs (or anything
# else) left on the same broker under the default names never reach it.
NAMESPACE = "gather-sync-demo"


def demo_environ(environ: dict[str, str], namespace: str = NAMESPACE) -> dict[str, str]:
    """`environ` with the namespace's topic prefix and group ids, where it sets none of its own."""
    names = {
        "KAFKA_TOPIC_PREFIX": f"{namespace}.",
        "LISTENER_GROUP_ID": f"{namespace}-listener",
        "WORKER_APP_ID": f"{namespace}-worker",
        "SINK_GROUP_ID": f"{namespace}-sink",
    }
    return names | environ


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
    """The demo tenant's rows (a store file kept from older runs may hold other tenants')."""
    with engine.connect() as db:
        count = [
            db.execute(select(func.count()).select_from(t).where(t.c.tenant == TENANT)).scalar_one()
            for t in (accounts, users, records)
        ]
    return count[0], count[1] + count[2]


def _lag(collector: LagCollector) -> str:
    """Messages each stage still has to read (worker: sf.changes; sink: the Gather topics)."""
    groups = (WorkerSettings().app_id, SinkSettings().group_id)
    try:
        samples = collector.collect(LagFilter(groups=groups))
    except LagCollectionError:
        return "lag: -"
    lag = {g: sum(s.lag for s in samples if s.group == g) for g in groups}
    return f"lag: worker {lag[groups[0]]}, sink {lag[groups[1]]}"


def _freshness(engine: Any) -> str:
    newest = read_freshness(engine).get(TENANT)
    age = f"{(datetime.now(UTC) - newest).total_seconds():.1f} s" if newest else "-"
    return f"freshness: {age}"


def _summary(watch: Watch) -> str:
    """The line printed every 2 s; a broker or store that is away is said, not fatal."""
    try:
        return _counts(watch)
    except (KafkaException, SQLAlchemyError) as e:
        elapsed = time.monotonic() - watch.started
        return f"[{elapsed:6.0f} s] waiting: {type(e).__name__}: {str(e)[:120]}"


def _counts(watch: Watch) -> str:
    consumer, engine, changes_topic = watch.consumer, watch.engine, watch.topics.sf_changes
    changes = _ends(consumer, changes_topic) - watch.base[changes_topic]
    upserts = sum(_ends(consumer, t) - watch.base[t] for t in watch.topics.gather_data)
    account_rows, other_rows = _rows(engine)
    elapsed = time.monotonic() - watch.started
    return (
        f"[{elapsed:6.0f} s] changes in: {changes:7d} | upserts out: {upserts:7d} "
        f"| store: {account_rows} accounts, {other_rows} users and records "
        f"| {_lag(watch.collector)} | {_freshness(engine)}"
    )


def run(args: Any) -> int:
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    namespace = getattr(args, "namespace", NAMESPACE)
    os.environ.update(demo_environ(dict(os.environ), namespace))  # read by every settings class
    kafka, store = KafkaSettings(), StoreSettings()
    patiently(
        lambda: provision_contract_topics(kafka),
        "provision",
        Patience("run", "kafka", kafka_failure),
    )
    engine = make_engine(store.database_url)
    database = Patience("run", "database", lambda e: store_failure(e.__cause__ or e))
    patiently(lambda: migrate.upgrade(engine), "migrate the store", database)
    # imported here: the image leaves sfsim out, and every other command must load without it
    from sfsim.testing import serve_process

    # absolute: sfsim runs from the repository, the stages from here
    sfsim, credentials = serve_process(
        Path(".local/sfsim").resolve(), "--accounts", "200", "--traffic-rate", "5"
    )
    env = os.environ | {
        SECRET_VAR: credentials["client_secret"],
        "LISTENER_SALESFORCE_CA_FILE": credentials["ca"],
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "GATHER_DATABASE_URL": store.database_url,
    }
    publisher = SyncPublisher(kafka.producer_config(), tenant=TENANT)
    config = json.dumps(_demo_config(credentials)).encode()
    publisher.send(Topics.of(kafka).gather_tenants, TENANT, config)
    publisher.close()  # waits for the broker's acknowledgement, however long it is away
    stages = _stages(env, namespace)
    time.sleep(5)
    backfill = _spawn("backfill", ["-m", "cli.main", "backfill", "--tenant", TENANT], env)
    # stopped in reverse order: the one-shot backfill first, the stages, sfsim last
    return _watch([sfsim], stages, [backfill], kafka, engine, namespace)


# Each stage serves /metrics, /livez and /readyz on a port of its own here (in Kubernetes every
# pod uses 9100).
STAGES = {
    "listener": (["-m", "cli.main", "listen"], 9101),
    "worker": (["-m", "cli.main", "worker"], 9102),
    "sink": (["-m", "cli.main", "sink"], 9103),
    "dashboard": (
        ["-m", "cli.main", "dashboard", "--port", "8080", "--group-prefix", "{namespace}-"],
        0,
    ),
}


def _stages(env: dict[str, str], namespace: str) -> Stages:
    spawn = partial(_spawn_stage, env=env, namespace=namespace)
    stages = Stages(spawn, time.monotonic, _say)
    stages.start(list(STAGES))
    for name, (_, port) in STAGES.items():
        if port:
            print(f"{name:>9}: metrics at http://127.0.0.1:{port}/metrics", flush=True)
    print("dashboard: http://127.0.0.1:8080/", flush=True)
    return stages


def _spawn_stage(name: str, env: dict[str, str], namespace: str) -> subprocess.Popen[bytes]:
    args, port = STAGES[name]
    args = [a.replace("{namespace}", namespace) for a in args]
    return _spawn(name, args, env | {"METRICS_PORT": str(port)})


def _say(line: str) -> None:
    print(line, flush=True)


@dataclass
class Watch:
    consumer: Consumer
    engine: Any
    collector: LagCollector
    base: dict[str, int]
    started: float
    topics: Topics


def _watch(
    first: list[subprocess.Popen[Any]],
    stages: Stages,
    last: list[subprocess.Popen[Any]],
    kafka: KafkaSettings,
    engine: Any,
    namespace: str,
) -> int:
    consumer = Consumer(kafka.consumer_config(f"{namespace}-summary"))
    topics = Topics.of(kafka)
    base = {t: _ends(consumer, t) for t in (topics.sf_changes, *topics.gather_data)}
    collector = LagCollector(kafka, read_wait=0.5)
    watch = Watch(consumer, engine, collector, base, time.monotonic(), topics)
    print(f"running; logs in {RUN_DIR}/; Ctrl-C stops everything", flush=True)
    try:
        for tick in itertools.count(1):
            time.sleep(0.5)
            stages.tend()
            if tick % 4 == 0:
                print(_summary(watch), flush=True)
    except KeyboardInterrupt:
        print("\nstopping...", flush=True)
    finally:
        _stop([*first, *stages.processes(), *last])
        consumer.close()
    print("stopped", flush=True)
    return 0


def _stop(children: list[subprocess.Popen[Any]]) -> None:
    for child in reversed(children):
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in reversed(children):
        try:
            child.wait(timeout=60)
        except subprocess.TimeoutExpired:
            child.kill()
