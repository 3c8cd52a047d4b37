"""`sfsim serve` runs a local Salesforce org; `sfsim traffic` drives live changes into one."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import ssl
import sys
import time
import urllib.request
from pathlib import Path

import structlog

from connectors.telemetry.logs import configure_logging
from sfsim.clock import OffsetClock
from sfsim.generator import Generator
from sfsim.metadata import load_schema
from sfsim.server.app import build_state, start

log = structlog.get_logger("sfsim")


async def _serve(args: argparse.Namespace) -> int:
    state = build_state(load_schema(args.schema), OffsetClock())
    generator = Generator(state.org, seed=args.seed)
    if args.state_file and args.state_file.exists():
        state.org.load(args.state_file)
    else:
        generator.seed_org(args.accounts)
    running = await start(
        state, generator, args.tls_dir, args.host, args.port, args.poll_timeout_ms
    )
    print(json.dumps(running.credentials.as_dict()), flush=True)
    log.info(
        "sfsim ready",
        url=running.credentials.url,
        records=sum(map(len, state.org.records.values())),
    )
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    traffic = (
        asyncio.create_task(generator.run(args.traffic_rate, stop)) if args.traffic_rate else None
    )
    await stop.wait()
    if traffic:
        await traffic
    if args.state_file:
        state.org.save(args.state_file)
    await running.stop()
    return 0


def _traffic(args: argparse.Namespace) -> int:
    """Ask a running sfsim for `rate` changes a second for `duration` seconds."""
    context = ssl.create_default_context(cafile=str(args.ca))
    ticks = int(args.duration * 10)
    made = 0
    for _ in range(ticks):
        body = json.dumps({"changes": max(1, int(args.rate / 10))}).encode()
        request = urllib.request.Request(
            f"{args.url}/sfsim/admin/generate",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, context=context) as response:
            made += json.loads(response.read())["changes"]
        time.sleep(0.1)  # the command line's own pacing loop
    print(f"made {made} changes")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sfsim", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run a local Salesforce org over HTTPS")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0, help="0 picks a free port")
    serve.add_argument(
        "--tls-dir",
        type=Path,
        default=Path(".local/sfsim"),
        help="where ca.pem, the server certificate and sfsim.json are written",
    )
    serve.add_argument("--accounts", type=int, default=100, help="seed data size")
    serve.add_argument("--seed", type=int, default=7)
    serve.add_argument("--schema", type=Path, default=None, help="custom objects and fields (YAML)")
    serve.add_argument("--state-file", type=Path, default=None, help="load/save the org's records")
    serve.add_argument("--traffic-rate", type=float, default=0.0, help="live changes per second")
    serve.add_argument(
        "--poll-timeout-ms",
        type=int,
        default=110_000,
        help="CometD long-poll timeout (Salesforce: 110000)",
    )
    serve.set_defaults(handler=lambda a: asyncio.run(_serve(a)))
    traffic = sub.add_parser("traffic", help="drive live changes into a running sfsim")
    traffic.add_argument("--url", required=True)
    traffic.add_argument("--ca", type=Path, required=True)
    traffic.add_argument("--rate", type=float, default=10.0, help="changes per second")
    traffic.add_argument("--duration", type=float, default=10.0, help="seconds")
    traffic.set_defaults(handler=_traffic)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging()  # to stderr: stdout carries the credentials line
    result: int = args.handler(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
