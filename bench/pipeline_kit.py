"""The pipeline benchmark's plumbing: services, a stage per scenario (its own topic prefix,
consumer groups and PostgreSQL database), processes, offsets, and clean-up.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import yaml
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from sqlalchemy.engine import make_url

from bench import profile_top
from connectors.kafka.settings import KafkaSettings
from schemas.contract import Topics

REPO = Path(__file__).resolve().parents[1]
WORKER = ["-m", "faust", "-A", "streams.app", "worker", "-l", "warn", "--without-web"]
SECRET_VAR = "BENCH_SF_SECRET"


# --- services ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Services:
    bootstrap: str
    admin_url: str  # GATHER_DATABASE_URL of the local PostgreSQL (SQLAlchemy form)


def services() -> Services:
    """The broker and PostgreSQL from the environment, else started by the local scripts."""
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or _start("kafka.sh")
    url = os.environ.get("GATHER_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        url = _start("postgres.sh")
    return Services(bootstrap, url)


def _start(script: str) -> str:
    done = subprocess.run(
        [str(REPO / "deploy/local" / script), "start"], capture_output=True, text=True, check=True
    )
    return done.stdout.strip().splitlines()[-1].split("=", 1)[1]


def kafka_settings(svc: Services) -> KafkaSettings:
    return KafkaSettings(bootstrap_servers=svc.bootstrap)


# --- databases -----------------------------------------------------------------------------------


def database_url(admin_url: str, name: str) -> str:
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def libpq(url: str) -> str:
    """A SQLAlchemy URL as psycopg's conninfo."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_database(admin_url: str, name: str) -> str:
    with psycopg.connect(libpq(admin_url), autocommit=True) as db:
        db.execute(f'CREATE DATABASE "{name}"')
    return database_url(admin_url, name)


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(libpq(admin_url), autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- a stage: one scenario's prefix, groups, database and processes -----------------------------


@dataclass
class Stage:
    run: str
    name: str
    svc: Services
    workdir: Path
    partitions: int
    database: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    profile: frozenset[str] = frozenset()  # process names to run under py-spy
    profiles: list[tuple[subprocess.Popen[bytes], Path]] = field(default_factory=list)

    @property
    def tag(self) -> str:
        return f"bench-{self.run}-{self.name}"

    @property
    def prefix(self) -> str:
        return f"{self.tag}."

    @property
    def topics(self) -> Topics:
        """The contract's topic names under this stage's prefix (KAFKA_TOPIC_PREFIX)."""
        return Topics(self.prefix)

    def topic(self, name: str) -> str:
        """A topic of the benchmark's own (not the contract's) under the stage's prefix."""
        return self.prefix + name

    @property
    def database_url(self) -> str:
        assert self.database is not None, f"stage {self.name} has no database"
        return database_url(self.svc.admin_url, self.database)

    def env(self) -> dict[str, str]:
        tag = self.tag
        env = dict(os.environ) | {
            "KAFKA_BOOTSTRAP_SERVERS": self.svc.bootstrap,
            "KAFKA_TOPIC_PREFIX": self.prefix,
            "KAFKA_PARTITIONS": str(self.partitions),
            "LISTENER_GROUP_ID": f"{tag}-listener",
            "WORKER_APP_ID": f"{tag}-worker",
            "WORKER_DATADIR": str(self.workdir / "faust"),
            "SINK_GROUP_ID": f"{tag}-sink",
        }
        if self.database:
            env["GATHER_DATABASE_URL"] = self.database_url
        return env | self.extra


def open_stage(
    run: str,
    name: str,
    svc: Services,
    root: Path,
    partitions: int,
    db: bool,
    profile: frozenset[str] = frozenset(),
) -> Stage:
    """A stage with its topics provisioned and, when asked, a fresh database migrated; the
    processes named in `profile` are sampled by py-spy (see `spawn`)."""
    workdir = root / name
    workdir.mkdir(parents=True, exist_ok=True)
    stage = Stage(run, name, svc, workdir, partitions, profile=profile)
    if db:
        stage.database = f"bench_{run}_{name}"
        create_database(svc.admin_url, stage.database)
        cli(stage, "db", "migrate")
    cli(stage, "topics", "provision")
    return stage


def cli(stage: Stage, *args: str, timeout: float = 600) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        cwd=REPO,
        env=stage.env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"gather-sync {' '.join(args)} failed: {done.stderr[-2000:]}")
    return done.stdout


def apply_config(stage: Stage, document: dict[str, Any], org_check: bool = True) -> None:
    """`gather-sync tenants apply`, which checks the config against its org's describe (logging
    in with the stage's secret and LISTENER_SALESFORCE_CA_FILE, as the listener does); a config
    whose org does not exist (the Faust and sink scenarios) is applied with --no-org-check."""
    path = stage.workdir / "tenant.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    cli(stage, "tenants", "apply", *([] if org_check else ["--no-org-check"]), str(path))


def spawn(stage: Stage, name: str, args: list[str]) -> subprocess.Popen[bytes]:
    """A process of the stage, serving `/metrics` on a port of its own as in production."""
    env = stage.env() | {"METRICS_PORT": str(free_port()), "METRICS_HOST": "127.0.0.1"}
    with (stage.workdir / f"{name}.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, *args], cwd=REPO, env=env, stdout=log, stderr=log
        )
    stage.processes[name] = process
    if name in stage.profile:
        stage.profiles.append(py_spy(process.pid, name))
    return process


PROFILES = REPO / ".local/bench/profiles"
PY_SPY = REPO / ".venv/bin/py-spy"


def py_spy(pid: int, name: str) -> tuple[subprocess.Popen[bytes], Path]:
    """py-spy sampling a process from outside (by pid, so the process gets its signals as
    without it) until it exits, into .local/bench/profiles/<name>-<time>.txt (raw: one line per
    stack and its sample count; `python -m bench.profile_top FILE` ranks the frames). It
    attaches once the interpreter is up; the first second of imports is not sampled."""
    PROFILES.mkdir(parents=True, exist_ok=True)
    out = PROFILES / f"{name}-{time.strftime('%Y%m%dT%H%M%S')}.txt"
    time.sleep(1.0)
    command = [str(PY_SPY), "record", "--format", "raw", "-o", str(out), "--pid", str(pid)]
    if os.environ.get("BENCH_PROFILE_IDLE"):  # waits too (I/O, locks): where the wall time goes
        command.append("--idle")
    with (PROFILES / f"{out.stem}.log").open("wb") as log:
        spy = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    return spy, out


def profile_summary(out: Path) -> str:
    if not out.exists():
        return f"no profile in {out} (py-spy's output: {out.with_suffix('.log')})"
    with out.open(encoding="utf-8", errors="replace") as lines:
        stacks = profile_top.without_imports(profile_top.parse(lines))
    title = f"{out} (start-up imports left out)"
    return profile_top.render(profile_top.top(stacks), title) if stacks else f"{out}: empty"


def stop(stage: Stage) -> None:
    for process in reversed(stage.processes.values()):
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in reversed(stage.processes.values()):
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
    for spy, out in stage.profiles:
        try:
            spy.wait(60)  # it writes the profile once the process it samples has exited
        except subprocess.TimeoutExpired:
            spy.send_signal(signal.SIGINT)  # py-spy writes what it has on Ctrl-C
            spy.wait(60)
        print(profile_summary(out), flush=True)
    stage.profiles.clear()


def log_problems(stage: Stage) -> dict[str, list[str]]:
    """Error and traceback lines of each process log (the report lists them)."""
    found: dict[str, list[str]] = {}
    for path in sorted(stage.workdir.glob("*.log")):
        lines = path.read_text(errors="replace").splitlines()
        bad = [ln[:300] for ln in lines if _bad(ln)]
        if bad:
            found[path.stem] = bad[:20]
    return found


def _bad(line: str) -> bool:
    lowered = line.lower()
    return any(word in lowered for word in ("error", "traceback", "exception", "critical"))


# --- processes -----------------------------------------------------------------------------------


def peak_rss_mib(pid: int) -> float:
    """VmHWM: the process's peak resident set so far."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return 0.0


def wait_for(condition: Callable[[], bool], timeout: float, every: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def group_stable(admin: AdminClient, group: str) -> bool:
    try:
        described = admin.describe_consumer_groups([group])[group].result(timeout=10)
    except KafkaException:
        return False
    return str(described.state).endswith("STABLE")


def machine() -> dict[str, Any]:
    mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    return {"cores": os.cpu_count(), "mem_gib": round(int(mem) / 1024**2, 1), "load": load()}


def source_state() -> dict[str, Any]:
    """The commit measured, and the files that differed from it (others edit the tree)."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout

    dirty = git("status", "--short", "--", "streams", "connectors", "cli", "schemas", "sfsim")
    return {"commit": git("rev-parse", "HEAD").strip(), "uncommitted": dirty.splitlines()}


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# --- topics and offsets --------------------------------------------------------------------------


def produce(kafka: KafkaSettings, messages: Iterable[tuple[str, str, bytes]]) -> int:
    """(topic, key, value) with the listener's producer settings; returns how many were sent."""
    producer = Producer(kafka.producer_config())
    sent = 0
    for topic, key, value in messages:
        while True:
            try:
                producer.produce(topic, key=key.encode(), value=value)
                break
            except BufferError:
                producer.poll(0.5)
        producer.poll(0)
        sent += 1
    assert producer.flush(120) == 0, "messages left undelivered"
    return sent


def partitions_of(consumer: Consumer, topic: str) -> list[TopicPartition]:
    found = consumer.list_topics(topic, timeout=30).topics[topic].partitions
    return [TopicPartition(topic, p) for p in found]


def end_offsets(consumer: Consumer, topics: Iterable[str]) -> int:
    return sum(
        consumer.get_watermark_offsets(tp, timeout=10)[1]
        for topic in topics
        for tp in partitions_of(consumer, topic)
    )


def committed(consumer: Consumer, topics: Iterable[str]) -> int:
    """Offsets the consumer's group committed (the consumer itself never joins it)."""
    wanted = [tp for topic in topics for tp in partitions_of(consumer, topic)]
    return sum(max(tp.offset, 0) for tp in consumer.committed(wanted, timeout=10))


def read_all(kafka: KafkaSettings, topics: Iterable[str], group: str) -> list[tuple[str, bytes]]:
    """Every message of the topics, from the beginning: (topic, value)."""
    consumer = Consumer(kafka.consumer_config(group))
    wanted = [tp for topic in topics for tp in partitions_of(consumer, topic)]
    total = end_offsets(consumer, {tp.topic for tp in wanted})
    for tp in wanted:
        tp.offset = -2  # OFFSET_BEGINNING
    consumer.assign(wanted)
    out: list[tuple[str, bytes]] = []
    while len(out) < total:
        for message in consumer.consume(1000, 5.0):
            if message.error() is None:
                out.append((message.topic() or "", message.value() or b""))
    consumer.close()
    return out


def delete_run_topics(kafka: KafkaSettings, run: str) -> int:
    """Every topic of this run: its prefixed contract topics and the workers' changelogs."""
    admin = AdminClient(kafka.admin_config())
    mine = [t for t in admin.list_topics(timeout=30).topics if t.startswith(f"bench-{run}-")]
    for future in admin.delete_topics(mine, operation_timeout=60).values() if mine else []:
        with contextlib.suppress(KafkaException):
            future.result()
    return len(mine)


def delete_run_groups(kafka: KafkaSettings, groups: list[str]) -> None:
    admin = AdminClient(kafka.admin_config())
    for future in admin.delete_consumer_groups(groups, request_timeout=30).values():
        with contextlib.suppress(KafkaException):
            future.result()


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")


@contextlib.contextmanager
def workdir(keep: bool, run: str, name: str) -> Iterator[Path]:
    """A benchmark's process logs and files: kept in .local/bench/<run>/ with --keep, else in a
    temporary directory removed at the end."""
    if keep:
        root = REPO / ".local/bench" / run
        root.mkdir(parents=True, exist_ok=True)
        print(f"process logs in {root}", flush=True)
        yield root
        return
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        yield Path(tmp)
