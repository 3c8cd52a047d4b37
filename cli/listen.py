"""`gather-sync listen`: run a listener replica until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import signal

from connectors.kafka.settings import KafkaSettings
from connectors.salesforce.listener import Listener
from connectors.salesforce.settings import ListenerSettings
from connectors.telemetry.metrics import MetricsSettings, serve


async def _run() -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    serve(MetricsSettings(), "listener")
    await Listener(ListenerSettings(), KafkaSettings()).run(stop)
    return 0


def listen(_args: argparse.Namespace) -> int:
    return asyncio.run(_run())
