"""`gather-sync dashboard`: a web page of consumer lag and freshness over time, its JSON
(`/api/series`), `/healthz` and Prometheus metrics (`/metrics`), on one port, until SIGTERM or
Ctrl-C, with a search box that explains one record (`/api/explain`, as `gather-sync explain`).
Settings: KAFKA_*, GATHER_DATABASE_URL, WORKER_APP_ID and SINK_GROUP_ID."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiohttp import web

from cli.explain import Sources
from cli.explain_text import render
from cli.lag import store_freshness
from connectors.gather.settings import StoreSettings
from connectors.kafka.lag import FreshnessReader, LagMonitor
from connectors.kafka.lag_collector import LagCollector
from connectors.kafka.settings import KafkaSettings
from connectors.monitoring.history import DEFAULT_CAPACITY, Sampler, SeriesHistory
from connectors.monitoring.web import Explainer, make_app

log = structlog.get_logger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8080, help="HTTP port (0: any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between samples")
    parser.add_argument(
        "--group-prefix",
        action="append",
        help="only consumer groups whose id starts with this (repeatable; default: every group)",
    )
    parser.add_argument(
        "--capacity", type=int, default=DEFAULT_CAPACITY, help="points kept per series"
    )


def dashboard(args: argparse.Namespace) -> int:
    freshness = store_freshness(StoreSettings())
    return asyncio.run(serve(args, KafkaSettings(), freshness))


async def serve(
    args: argparse.Namespace, settings: KafkaSettings, freshness: FreshnessReader | None
) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    history = SeriesHistory(capacity=args.capacity)
    sampler = Sampler(
        LagCollector(settings),
        history,
        clock=time.time,
        freshness=freshness,
        prefixes=tuple(args.group_prefix or ()),
        monitor=LagMonitor(),
    )
    app = make_app(history, explainer=explainer(Sources.from_environment()))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.create_server((args.host, args.port))
    await web.SockSite(runner, sock).start()
    host, port = sock.getsockname()[:2]
    print(f"dashboard on http://{host}:{port}/ (metrics on /metrics)", flush=True)
    log.info("dashboard serving", host=host, port=port, interval=args.interval)
    try:
        await sampler.run(stop, args.interval, stop_aware_sleep(stop))
    finally:
        await runner.cleanup()
    print("dashboard stopped", flush=True)
    return 0


def explainer(sources: Sources) -> Explainer:
    """The search box's `explain`, off the event loop (it reads topics and the store)."""

    async def explain(tenant: str, obj: str, record_id: str) -> dict[str, Any]:
        found = await asyncio.to_thread(sources.explain, tenant, obj, record_id)
        return found.model_dump(mode="json") | {"text": render(found)}

    return explain


def stop_aware_sleep(stop: asyncio.Event) -> Callable[[float], Awaitable[None]]:
    """A sleep that ends early when `stop` is set."""

    async def sleep(seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)

    return sleep
