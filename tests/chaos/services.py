"""The run's own Kafka broker and PostgreSQL, and Toxiproxy in front of them.

Both come from deploy/local/kafka.sh and postgres.sh with `GATHER_LOCAL_DIR` set to a scratch
directory, so stopping and starting them (the faults) never disturbs another test or session
using the shared ones under .local/. The broker's jars are those of .local/kafka/lib (linked, not
fetched again).

Each stage reaches Kafka through a proxy of its own (`kafka-listener`, `kafka-worker`,
`kafka-sink`) and the sink reaches PostgreSQL through `postgres-sink`, so a network fault can hit
one stage's link. A Kafka client learns the broker's address from its metadata after bootstrap,
so the broker has one extra listener per proxy, advertising the proxy's port
(KAFKA_EXTRA_LISTENERS): clients that bootstrap through the proxy keep going through it. The
harness, the backfill and the CLI use the broker's and the database's own ports.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

from tests.chaos.toxiproxy import Toxiproxy
from tests.e2e.pipeline import REPO, free_port

STAGES = ("listener", "worker", "sink")
PROXIES = (*(f"kafka-{s}" for s in STAGES), "postgres-sink")


class Services:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.root = Path(tempfile.mkdtemp(prefix="gather-chaos-", dir="/tmp"))
        self.root.chmod(0o755)  # postgres.sh runs the server as `postgres`, which must reach it
        self.ports: dict[str, int] = {}  # proxy name -> the port it listens on
        self.toxiproxy: Toxiproxy | None = None
        self.bootstrap = self.database_url = ""
        self._env = dict(os.environ) | {"GATHER_LOCAL_DIR": str(self.root)}

    def start(self) -> Services:
        self._link_jars()
        self.toxiproxy = Toxiproxy(self.workdir / "toxiproxy.log")
        extra = []
        for stage in STAGES:
            upstream = free_port()
            self.ports[f"kafka-{stage}"] = self.toxiproxy.create(f"kafka-{stage}", upstream)
            extra.append(f"PX{stage.upper()}:{upstream}:{self.ports[f'kafka-{stage}']}")
        self._env["KAFKA_EXTRA_LISTENERS"] = " ".join(extra)
        self.bootstrap = self._script("kafka.sh", "start")
        self.database_url = self._script("postgres.sh", "start")
        self.ports["postgres-sink"] = self.toxiproxy.create("postgres-sink", self._pg_port())
        return self

    def _link_jars(self) -> None:
        shared = REPO / ".local" / "kafka" / "lib"
        if (shared / ".complete").exists():
            (self.root / "kafka").mkdir()
            (self.root / "kafka" / "lib").symlink_to(shared)

    def _script(self, script: str, action: str) -> str:
        done = subprocess.run(
            [str(REPO / "deploy/local" / script), action],
            env=self._env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"deploy/local/{script} {action} failed: {done.stderr[-2000:]}")
        return done.stdout.strip().rsplit("=", 1)[-1] if done.stdout.strip() else ""

    def _pg_port(self) -> int:
        return int(make_url(self.database_url).port or 5432)

    def stage_env(self, stage: str) -> dict[str, str]:
        """Where a stage finds Kafka (and the sink PostgreSQL): through its proxies."""
        env = {"KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{self.ports[f'kafka-{stage}']}"}
        if stage == "sink":
            url = make_url(self.database_url).set(port=self.ports["postgres-sink"])
            env["GATHER_DATABASE_URL"] = url.render_as_string(hide_password=False)
        return env

    # --- the faults that stop a service -------------------------------------------------------

    def broker(self, action: str) -> None:
        """`kafka.sh stop` (a clean shutdown, as in a rolling restart) or `start`."""
        found = self._script("kafka.sh", action)
        if action == "start" and found != self.bootstrap:
            raise RuntimeError(f"the broker came back on {found}, not {self.bootstrap}")

    def postgres(self, action: str) -> None:
        """`postgres.sh stop` (pg_ctl -m fast: sessions are cut) or `start`."""
        found = self._script("postgres.sh", action)
        if action == "start" and found != self.database_url:
            self.database_url = found  # its port was taken meanwhile: follow it
            assert self.toxiproxy is not None
            self.toxiproxy.upstream("postgres-sink", self._pg_port())

    def close(self) -> None:
        for script in ("kafka.sh", "postgres.sh"):
            subprocess.run(
                [str(REPO / "deploy/local" / script), "stop"],
                env=self._env,
                capture_output=True,
                timeout=120,
                check=False,
            )
        if self.toxiproxy is not None:
            self.toxiproxy.close()
        for log, name in (
            (self.root / "kafka" / "logs" / "server.log", "kafka-server.log"),
            (self.root / "postgres" / "data" / "server.log", "postgres-server.log"),
        ):
            if log.exists():
                shutil.copy(log, self.workdir / name)
        shutil.rmtree(self.root, ignore_errors=True)
