"""The Faust worker as a process on a topic prefix of its own, and a wait for it to go quiet."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from connectors.kafka.settings import KafkaSettings
from schemas.contract import Topics

REPO = Path(__file__).resolve().parents[2]
WORKER = ["-m", "cli.main", "worker"]


@dataclass
class WorkerProcess:
    """One worker; stopped and started again like a deployment."""

    env: dict[str, str]
    log: Path
    topics: Topics
    group: str
    process: subprocess.Popen[bytes] | None = None
    level: str = "warn"  # Faust's log level; "info" logs each partition assignment

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, *WORKER, "--loglevel", self.level],
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=log,
            )

    def stop(self) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait(timeout=60)

    def kill(self) -> None:
        """kill -9, as a node failure would: no shutdown, no flush, no last offset commit."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=30)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def inputs(self) -> list[str]:
        t = self.topics
        return [t.sf_changes, t.sf_deals, t.worker_control, t.gather_tenants, t.sf_schemas]


def provision(env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "cli.main", "topics", "provision"],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
    )


def quiet(kafka: KafkaSettings, worker: WorkerProcess, timeout: float = 120.0) -> bool:
    """True once the worker's group has committed every message of its inputs, twice over a
    pause longer than its re-evaluation timer (which may send more control messages)."""
    admin = AdminClient(kafka.admin_config())
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _caught_up(admin, worker):
            time.sleep(1.5)
            if _caught_up(admin, worker):
                return True
        time.sleep(0.3)
    return False


def _caught_up(admin: AdminClient, worker: WorkerProcess) -> bool:
    ends = _ends(admin, worker.inputs())
    request = [ConsumerGroupTopicPartitions(worker.group, [TopicPartition(t, p) for t, p in ends])]
    result = admin.list_consumer_group_offsets(request)[worker.group].result(timeout=10)
    committed = {(tp.topic, tp.partition): tp.offset for tp in result.topic_partitions}
    return all(committed.get(key, -1) >= end for key, end in ends.items() if end > 0)


def _ends(admin: AdminClient, topics: list[str]) -> dict[tuple[str, int], int]:
    metadata = admin.list_topics(timeout=10).topics
    wanted = {
        TopicPartition(t, p): OffsetSpec.latest()  # type: ignore[no-untyped-call]
        for t in topics
        for p in metadata[t].partitions
    }
    found = admin.list_offsets(wanted)
    return {(tp.topic, tp.partition): f.result(timeout=10).offset for tp, f in found.items()}
