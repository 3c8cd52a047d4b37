"""`gather-sync sink`: write the Gather topics into the store until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import threading
from datetime import UTC, datetime

from connectors.gather import migrate
from connectors.gather.engine import make_engine
from connectors.gather.freshness import read_freshness
from connectors.gather.settings import StoreSettings
from connectors.gather.sink import Sink, SinkSettings
from connectors.gather.store import SqlStore
from connectors.kafka.settings import KafkaSettings
from connectors.telemetry.metrics import (
    FreshnessCollector,
    MetricsSettings,
    register_freshness,
    serve,
)


def sink(_args: argparse.Namespace) -> int:
    store_settings = StoreSettings()
    engine = make_engine(store_settings.database_url, store_settings.pool_size)
    migrate.upgrade(engine)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    worker = Sink(
        SqlStore.for_engine(engine), KafkaSettings(), SinkSettings(), now=lambda: datetime.now(UTC)
    )
    worker.newest.update(read_freshness(engine))
    register_freshness(FreshnessCollector(lambda: dict(worker.newest), worker.now))
    serve(MetricsSettings(), "sink")
    worker.run(stop)
    print(
        f"sink stopped: {worker.stats.written} rows written in {worker.stats.batches} batches, "
        f"{worker.stats.dead_letters} dead letters"
    )
    return 0
