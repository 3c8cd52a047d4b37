"""How many CDC events a second sfsim delivers over CometD to one subscriber and to 100.

    .venv/bin/python -m bench.sfsim_delivery            # or: make bench-sfsim

sfsim runs as its own process (`sfsim serve`); the subscribers are real aiosfstream-ng clients
in this process, each replaying every retained event (replay -2) from /data/ChangeEvents. The
baseline, measured in the same run, is the rate at which the event log itself hands out the
same events in memory (no HTTP, no JSON): the ratio says what the CometD path costs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiosfstream_ng.auth import AuthenticatorBase
from aiosfstream_ng.client import Client
from aiosfstream_ng.replay import ReplayOption

from sfsim.clock import ManualClock
from sfsim.eventlog import ALL_CHANGE_EVENTS
from sfsim.generator import Generator
from sfsim.metadata import standard_schema
from sfsim.server.app import build_state
from sfsim.testing import serve_process


class _Auth(AuthenticatorBase):
    def __init__(self, credentials: dict[str, Any], context: Any) -> None:
        super().__init__()
        self._c, self._context = credentials, context

    async def _authenticate(self) -> tuple[int, Any]:
        c = self._c
        form = {
            "grant_type": "password",
            "client_id": c["client_id"],
            "client_secret": c["client_secret"],
            "username": c["username"],
            "password": c["password"],
        }
        connector = aiohttp.TCPConnector(ssl=self._context)
        async with (
            aiohttp.ClientSession(connector=connector) as session,
            session.post(f"{c['url']}/services/oauth2/token", data=form) as response,
        ):
            return response.status, await response.json()


@dataclass
class Result:
    subscribers: int
    events: int
    seconds: float

    @property
    def per_subscriber(self) -> float:
        return self.events / self.seconds

    @property
    def total(self) -> float:
        return self.events * self.subscribers / self.seconds


def _serve(tls: Path) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    return serve_process(tls, "--accounts", "0", "--poll-timeout-ms", "5000")


def _admin(credentials: dict[str, Any], path: str, body: dict[str, Any]) -> Any:
    context = ssl.create_default_context(cafile=credentials["ca"])
    request = urllib.request.Request(
        f"{credentials['url']}/sfsim/admin/{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, context=context, timeout=300) as response:
        return json.loads(response.read())


def _fill(credentials: dict[str, Any], events: int) -> int:
    while (last := _admin(credentials, "state", {})["last_replay_id"]) < events:
        _admin(credentials, "generate", {"changes": min(5000, events - last)})
    return int(last)


async def _subscriber(credentials: dict[str, Any], context: Any, expected: int) -> None:
    client = Client(
        _Auth(credentials, context), replay=ReplayOption.ALL_EVENTS, connection_timeout=0
    )
    client.ssl = context
    await client.open()
    await client.subscribe(ALL_CHANGE_EVENTS)
    for _ in range(expected):
        await client.receive()
    await client.close()


async def _deliver(credentials: dict[str, Any], subscribers: int, expected: int) -> float:
    context = ssl.create_default_context(cafile=credentials["ca"])
    started = time.perf_counter()
    await asyncio.gather(*(_subscriber(credentials, context, expected) for _ in range(subscribers)))
    return time.perf_counter() - started


def measure(subscribers: int, events: int) -> Result:
    with tempfile.TemporaryDirectory() as tmp:
        process, credentials = _serve(Path(tmp))
        try:
            retained = _fill(credentials, events)
            # the org's daily delivery allocation (50,000 by default, as on Salesforce) would
            # stop 100 subscribers of 2,000 events each: raise it for the measurement
            _admin(credentials, "limits", {"events_max": 10**9})
            seconds = asyncio.run(_deliver(credentials, subscribers, retained))
        finally:
            process.terminate()
            process.wait(timeout=30)
    return Result(subscribers, retained, seconds)


def baseline(events: int) -> Result:
    """The event log handing out the same number of events in memory, 1000 at a time."""
    state = build_state(standard_schema(), ManualClock())
    generator = Generator(state.org, seed=7)
    generator.seed_org(50)
    while state.log.last_replay_id < events:
        generator.burst(events - state.log.last_replay_id)
    started, position, taken = time.perf_counter(), 0, 0
    while (batch := state.log.after(position, ALL_CHANGE_EVENTS, 1000)) and taken < events:
        messages = [e.message(ALL_CHANGE_EVENTS) for e in batch]
        taken += len(messages)
        position = batch[-1].replay_id
    return Result(1, taken, time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20_000, help="events for one subscriber")
    parser.add_argument("--events-100", type=int, default=2_000, help="events for 100 subscribers")
    args = parser.parse_args()
    base = baseline(args.events)
    one = measure(1, args.events)
    hundred = measure(100, args.events_100)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    columns = (
        "scenario",
        "events",
        "seconds",
        "events/s per subscriber",
        "events/s in total",
        "vs in-memory log",
    )
    print("| " + " | ".join(columns) + " |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    print(
        f"| in-memory event log (baseline) | {base.events} | {base.seconds:.3f} | "
        f"{base.per_subscriber:,.0f} | {base.total:,.0f} | 1.000 |"
    )
    for label, r in (("1 subscriber", one), ("100 subscribers", hundred)):
        print(
            f"| {label} over CometD/HTTPS | {r.events} | {r.seconds:.2f} | {r.per_subscriber:,.0f} "
            f"| {r.total:,.0f} | {r.total / base.total:.4f} |"
        )
    print(f"\nclient process peak RSS: {rss} MiB; sfsim in its own process; machine: 2 cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
