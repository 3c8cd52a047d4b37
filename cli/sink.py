"""`gather-sync sink`: write the Gather topics into the store until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import threading
from datetime import UTC, datetime

from sqlalchemy import Engine, text

from connectors.gather import migrate
from connectors.gather.engine import make_engine
from connectors.gather.failures import classify
from connectors.gather.freshness import read_freshness
from connectors.gather.settings import StoreSettings
from connectors.gather.sink import Sink, SinkSettings
from connectors.gather.store import SqlStore
from connectors.kafka.settings import KafkaSettings
from connectors.retrying import Patience, patiently
from connectors.telemetry.health import HEALTH, Check, succeeds
from connectors.telemetry.metrics import (
    FreshnessCollector,
    MetricsSettings,
    register_freshness,
    serve,
)


def database_check(engine: Engine) -> Check:
    """/readyz: the store answers a query (a pooled connection, checked before use)."""

    def ping() -> None:
        with engine.connect() as db:
            db.execute(text("SELECT 1"))

    return succeeds(ping, "reachable")


def sink(_args: argparse.Namespace) -> int:
    # served first: /livez and /readyz answer while start-up waits for the database or the broker
    serve(MetricsSettings(), "sink")
    store_settings = StoreSettings()
    engine = make_engine(store_settings.database_url, store_settings.pool_size)
    HEALTH.ready("database", database_check(engine))
    # A database that is down or failing over is waited for (SIGTERM still ends the wait).
    patience = Patience("sink", "database", lambda e: classify(e.__cause__ or e))
    patiently(lambda: migrate.upgrade(engine), "migrate the store", patience)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    worker = Sink(
        SqlStore.for_engine(engine), KafkaSettings(), SinkSettings(), now=lambda: datetime.now(UTC)
    )
    worker.newest.update(patiently(lambda: read_freshness(engine), "read freshness", patience))
    register_freshness(FreshnessCollector(lambda: dict(worker.newest), worker.now))
    worker.run(stop)
    print(
        f"sink stopped: {worker.stats.written} rows written in {worker.stats.batches} batches, "
        f"{worker.stats.dead_letters} dead letters"
    )
    return 0
