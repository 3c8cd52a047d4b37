"""A client of Toxiproxy's HTTP API (https://github.com/Shopify/toxiproxy#http-api): proxies
between the stages and Kafka / PostgreSQL, their toxics (latency, reset_peer) and their
enabled flag (a disabled proxy refuses and drops every connection: a network partition)."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.e2e.pipeline import REPO, free_port


class Toxiproxy:
    """`toxiproxy-server` as a process of its own on a free port, and its API."""

    def __init__(self, log: Path) -> None:
        built = subprocess.run(
            [str(REPO / "deploy/local/toxiproxy.sh")], capture_output=True, text=True, check=True
        )
        self.port = free_port()
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [built.stdout.strip(), "-host", "127.0.0.1", "-port", str(self.port)],
                stdout=out,
                stderr=out,
            )
        self._wait_up()

    def _wait_up(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                self._call("GET", "/version")
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        raise RuntimeError("toxiproxy-server did not answer within 30 s")

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=data, method=method
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read()
        return json.loads(text) if text else None

    def create(self, name: str, upstream_port: int) -> int:
        """A proxy to 127.0.0.1:`upstream_port`; returns the port it listens on."""
        listen = free_port()
        self._call(
            "POST",
            "/proxies",
            {
                "name": name,
                "listen": f"127.0.0.1:{listen}",
                "upstream": f"127.0.0.1:{upstream_port}",
                "enabled": True,
            },
        )
        return listen

    def upstream(self, name: str, port: int) -> None:
        self._call("POST", f"/proxies/{name}", {"upstream": f"127.0.0.1:{port}"})

    def enabled(self, name: str, on: bool) -> None:
        self._call("POST", f"/proxies/{name}", {"enabled": on})

    def add_toxic(self, proxy: str, toxic: str, kind: str, attributes: dict[str, Any]) -> None:
        """A toxic on the replies (downstream) and the requests (upstream) of every
        connection."""
        for stream in ("downstream", "upstream"):
            self._call(
                "POST",
                f"/proxies/{proxy}/toxics",
                {
                    "name": f"{toxic}-{stream}",
                    "type": kind,
                    "stream": stream,
                    "attributes": attributes,
                },
            )

    def remove_toxic(self, proxy: str, toxic: str) -> None:
        for stream in ("downstream", "upstream"):
            self._call("DELETE", f"/proxies/{proxy}/toxics/{toxic}-{stream}")

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
