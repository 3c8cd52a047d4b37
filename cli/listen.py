"""`gather-sync listen`: run a listener replica until SIGTERM or Ctrl-C.

The replica runs on uvloop: each tenant holds a TLS long-poll, and asyncio's own TLS transport
keeps a 256 KiB read buffer per connection, filled with zeros (resident) when it is made, where
uvloop's is only touched as far as data arrives (measured, 200 tenants against sfsim: 745 KiB
per tenant on asyncio, 244 KiB on uvloop); its loop, tasks and transports also cost less CPU per
event (docs/benchmarks.md, listener, after issue 13).
"""

from __future__ import annotations

import argparse
import asyncio
import signal

import uvloop

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
    return uvloop.run(_run())
