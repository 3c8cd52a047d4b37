"""The whole pipeline as its own processes (listener, Faust worker, sink) on a topic prefix of
its own, so a test reads none of the shared broker's history and no other test reads its topics.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

import yaml
from confluent_kafka import ConsumerGroupState
from confluent_kafka.admin import AdminClient
from sqlalchemy import Engine, func, select

from connectors.gather.schema import accounts, users
from connectors.kafka.settings import KafkaSettings
from sfsim.clock import SystemClock
from sfsim.testing import ThreadedSfsim
from tests.connectors.salesforce.builders import sfsim_environ, tenant_document
from tests.connectors.salesforce.harness import wait_until

REPO = Path(__file__).resolve().parents[2]
SINK = ["-m", "cli.main", "sink"]
WORKER = ["-m", "cli.main", "worker", "--loglevel", "warn"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Pipeline:
    """`with Pipeline(...) as p:` runs listener, worker and sink; `p.cli(...)` runs a command."""

    def __init__(
        self,
        kafka: KafkaSettings,
        org: ThreadedSfsim,
        database_url: str,
        workdir: Path,
        replicas: int = 1,
    ) -> None:
        run = uuid.uuid4().hex[:8]
        self.prefix = f"e2e-{run}."
        self.workdir = workdir
        self.env = (
            dict(os.environ)
            | sfsim_environ(org)
            | {
                "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
                "KAFKA_TOPIC_PREFIX": self.prefix,
                "KAFKA_PARTITIONS": "3",
                "GATHER_DATABASE_URL": database_url,
                "LISTENER_GROUP_ID": f"e2e-listener-{run}",
                "LISTENER_SALESFORCE_CA_FILE": org.credentials.ca,
                "LISTENER_CHECKPOINT_INTERVAL": "0.5",
                "WORKER_APP_ID": f"e2e-worker-{run}",
                "WORKER_DATADIR": str(workdir / "faust"),
                "SINK_GROUP_ID": f"e2e-sink-{run}",
            }
        )
        self.processes: list[subprocess.Popen[bytes]] = []
        self.named: dict[str, subprocess.Popen[bytes]] = {}
        self.metrics: dict[str, str] = {}
        self.replicas = replicas

    def cli(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cli.main", *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def apply(self, document: dict[str, object], name: str) -> None:
        path = self.workdir / f"{name}.yaml"
        path.write_text(yaml.safe_dump(document), encoding="utf-8")
        done = self.cli("tenants", "apply", str(path))
        assert done.returncode == 0, done.stderr

    def spawn(
        self, name: str, args: list[str], extra: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """A process with a `/metrics` port of its own (`self.metrics[name]`)."""
        port = free_port()
        self.metrics[name] = f"http://127.0.0.1:{port}/metrics"
        env = self.env | {"METRICS_PORT": str(port), "METRICS_HOST": "127.0.0.1"} | (extra or {})
        with (self.workdir / f"{name}.log").open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, *args], cwd=REPO, env=env, stdout=log, stderr=log
            )
        self.processes.append(process)
        self.named[name] = process
        return process

    def add_worker(self, name: str) -> subprocess.Popen[bytes]:
        """Another replica of the worker (same group, a data directory of its own)."""
        return self.spawn(name, WORKER, {"WORKER_DATADIR": str(self.workdir / f"faust-{name}")})

    def add_sink(self, name: str) -> subprocess.Popen[bytes]:
        """Another replica of the sink (same group)."""
        return self.spawn(name, SINK)

    def settle(self, workers: int, sinks: int, timeout: float = 60) -> bool:
        """True once the worker's and the sink's groups are stable with that many members."""
        admin = AdminClient({"bootstrap.servers": self.env["KAFKA_BOOTSTRAP_SERVERS"]})
        wanted = {self.env["WORKER_APP_ID"]: workers, self.env["SINK_GROUP_ID"]: sinks}
        return wait_until(
            lambda: all(_members(admin, g) == n for g, n in wanted.items()), timeout, step=0.5
        )

    def stop(self, process: subprocess.Popen[bytes]) -> None:
        """SIGTERM, as an operator stops a stage before a replay; waits for it to leave."""
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)

    def __enter__(self) -> Pipeline:
        done = self.cli("topics", "provision")
        assert done.returncode == 0, done.stderr
        self.spawn("sink", SINK)
        self.spawn("worker", WORKER)
        for n in range(2, self.replicas + 1):
            self.add_sink(f"sink-{n}")
            self.add_worker(f"worker-{n}")
        self.spawn("listener", ["-m", "cli.main", "listen"])
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if kind is not None:
            self._show_logs()
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in reversed(self.processes):
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()

    def _show_logs(self) -> None:
        """A failed test shows each stage's log tail and exit code (pytest prints what went to
        stderr), so a run that stalled somewhere says where."""
        for name, process in self.named.items():
            sys.stderr.write(f"--- {name} (exit code {process.poll()}) ---\n{self.log(name)}\n")

    def log(self, name: str) -> str:
        return (self.workdir / f"{name}.log").read_text(errors="replace")[-3000:]


def backfill(pipeline: Pipeline, tenant: str) -> subprocess.Popen[str]:
    """`gather-sync backfill --tenant T` started beside the running pipeline (it races it)."""
    return subprocess.Popen(
        [sys.executable, "-m", "cli.main", "backfill", "--tenant", tenant],
        cwd=REPO,
        env=pipeline.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _members(admin: AdminClient, group: str) -> int:
    """How many consumers the group has now (0 while it rebalances or is empty)."""
    found = admin.describe_consumer_groups([group])[group].result(timeout=10)
    return len(found.members) if found.state == ConsumerGroupState.STABLE else 0


@contextmanager
def backfilled(
    kafka: KafkaSettings, engine: Engine, workdir: Path, tenant: str, accounts: int
) -> Iterator[tuple[ThreadedSfsim, Pipeline]]:
    """sfsim on real time, the pipeline writing `engine`, one tenant (accounts by Salesforce Id,
    contacts by email) subscribed and backfilled."""
    url = engine.url.render_as_string(hide_password=False)
    with (
        ThreadedSfsim(workdir / "tls", clock=SystemClock(), accounts=accounts) as org,
        Pipeline(kafka, org, url, workdir) as pipeline,
    ):
        by_id = {"sync_mode": "create_new", "id_field": "Id"}
        pipeline.apply(tenant_document(org, tenant, accounts=by_id), tenant)
        assert wait_until(lambda: org.admin("state")["cometd_polling"] >= 1, timeout=90)
        filled = pipeline.cli("backfill", "--tenant", tenant)
        assert filled.returncode == 0, filled.stdout + filled.stderr
        yield org, pipeline


def rows(engine: Engine) -> int:
    with engine.connect() as db:
        return sum(
            int(db.execute(select(func.count()).select_from(t)).scalar_one())
            for t in (accounts, users)
        )


def wait_settled(engine: Engine, timeout: float = 120) -> bool:
    """The store has rows and their count did not move over three looks, 2 s apart."""
    seen: list[int] = []

    def settled() -> bool:
        seen.append(rows(engine))
        return len(seen) > 2 and seen[-1] == seen[-2] == seen[-3] > 0

    return wait_until(settled, timeout=timeout, step=2)
