"""A Kafka broker of one test's own, to stop and start as a fault: deploy/local/kafka.sh with
`GATHER_LOCAL_DIR` set to a scratch directory, so the shared broker under .local/ (which other
tests and sessions use) is never touched. Its jars are those of .local/kafka/lib, linked; where
they are missing, kafka.sh fetches them as it would for the shared one."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.services import REPO, ServiceUnavailable

SCRIPT = REPO / "deploy" / "local" / "kafka.sh"


class PrivateBroker:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="gather-broker-", dir="/tmp"))
        self.bootstrap = ""
        self._env = dict(os.environ) | {"GATHER_LOCAL_DIR": str(self.root)}
        shared = REPO / ".local" / "kafka" / "lib"
        if (shared / ".complete").exists():
            (self.root / "kafka").mkdir()
            (self.root / "kafka" / "lib").symlink_to(shared)

    def start(self) -> float:
        """Start it (on the same port as before, after a stop); returns the seconds it took."""
        started = time.monotonic()
        found = self._run("start").rsplit("=", 1)[-1]
        if self.bootstrap and found != self.bootstrap:
            raise ServiceUnavailable(f"the broker came back on {found}, not {self.bootstrap}")
        self.bootstrap = found
        return time.monotonic() - started

    def stop(self) -> float:
        """A clean shutdown (SIGTERM), as in a rolling restart; returns the seconds it took."""
        started = time.monotonic()
        self._run("stop")
        return time.monotonic() - started

    def close(self) -> None:
        self._run("stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, action: str, check: bool = True) -> str:
        done = subprocess.run(
            [str(SCRIPT), action],
            env=self._env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if check and done.returncode != 0:
            raise ServiceUnavailable(f"kafka.sh {action} failed: {done.stderr[-2000:]}")
        return done.stdout.strip()

    def __enter__(self) -> PrivateBroker:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
