"""sfsim in a background thread with its own event loop, for tests and benchmarks.

Synchronous clients (simple-salesforce) and async ones in another loop (aiosfstream) talk to it
over real HTTPS; `call` runs a function on the server's loop so a test can read or change the
org without racing the handlers.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from sfsim.clock import Clock, ManualClock
from sfsim.generator import Generator
from sfsim.metadata import OrgSchema, standard_schema
from sfsim.pubsub.server import KEEPALIVE_S
from sfsim.server.app import Credentials, Running, build_state, start

T = TypeVar("T")


class ThreadedSfsim:
    def __init__(
        self,
        tls_dir: Path,
        schema: OrgSchema | None = None,
        clock: Clock | None = None,
        accounts: int = 0,
        seed: int = 7,
        poll_timeout_ms: int = 5_000,
        overflow_threshold: int | None = None,
        pubsub_keepalive_s: float = KEEPALIVE_S,
    ) -> None:
        self.clock = clock or ManualClock()
        self.state = build_state(schema or standard_schema(), self.clock, overflow_threshold)
        self.generator = Generator(self.state.org, seed)
        self._tls_dir, self._accounts, self._poll = tls_dir, accounts, poll_timeout_ms
        self._keepalive = pubsub_keepalive_s
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sfsim", daemon=True)
        self._running: Running | None = None

    def __enter__(self) -> ThreadedSfsim:
        self._thread.start()
        self.call(lambda: self.generator.seed_org(self._accounts) if self._accounts else None)
        self._running = self._submit(
            start(
                self.state,
                self.generator,
                self._tls_dir,
                poll_timeout_ms=self._poll,
                pubsub_keepalive_s=self._keepalive,
            )
        ).result(timeout=60)
        return self

    def __exit__(self, *_: object) -> None:
        if self._running is not None:
            self._submit(self._running.stop()).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)

    @property
    def credentials(self) -> Credentials:
        assert self._running is not None, "use ThreadedSfsim as a context manager"
        return self._running.credentials

    @property
    def url(self) -> str:
        return self.credentials.url

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.credentials.ca)

    def call(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the server's loop and return its result."""

        async def wrapper() -> T:
            return fn()

        result: T = self._submit(wrapper()).result(timeout=60)
        return result

    def admin(self, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body or {}).encode()
        request = urllib.request.Request(
            f"{self.url}/sfsim/admin/{path}",
            data=data,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, context=self.ssl_context(), timeout=30) as response:
            return json.loads(response.read())

    def _submit(self, coro: Any) -> Future[Any]:
        return asyncio.run_coroutine_threadsafe(coro, self._loop)


def serve_process(tls_dir: Path, *options: str) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """`sfsim serve` as its own process; returns it and the credentials line it printed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sfsim.cli", "serve", "--tls-dir", str(tls_dir), *options],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert process.stdout is not None
    return process, json.loads(process.stdout.readline())
