"""The stages as processes, two replicas each as the chart deploys them: kill -9 and restart one,
add a replica and take one away, and (as Kubernetes would) restart a replica that exited on its
own, noting the exit: a stage that exits under a fault has failed to ride it through."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from dataclasses import dataclass

from tests.chaos.services import STAGES, Services
from tests.e2e.pipeline import SINK, WORKER, Pipeline

ARGS = {"listener": ["-m", "cli.main", "listen"], "worker": WORKER, "sink": SINK}
RESTART_DELAY = 2.0  # seconds before an exited replica is started again (a pod's restart)


@dataclass(frozen=True)
class Exit:
    name: str
    code: int
    at: float  # seconds after the run started


class Stages:
    def __init__(self, pipeline: Pipeline, services: Services, t0: float) -> None:
        self.pipeline, self.services, self.t0 = pipeline, services, t0
        self.replicas: dict[str, list[str]] = {s: [] for s in STAGES}
        self.exits: list[Exit] = []
        self._counter = 0
        self._meant_down: set[str] = set()  # killed or stopped by the run: not an exit
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="stages", daemon=True)

    def start(self, replicas: int = 2) -> Stages:
        for stage in ("sink", "worker", "listener"):
            for _ in range(replicas):
                self.add(stage)
        self._watcher.start()
        return self

    def add(self, stage: str) -> str:
        with self._lock:
            self._counter += 1
            name = f"{stage}-{self._counter}"
            self.replicas[stage].append(name)
            self._spawn(stage, name)
            return name

    def _spawn(self, stage: str, name: str) -> None:
        env = self.services.stage_env(stage)
        if stage == "worker":  # each replica's state of its own, as each pod has its volume
            env["WORKER_DATADIR"] = str(self.pipeline.workdir / f"faust-{name}")
        self.pipeline.spawn(name, ARGS[stage], env)

    def pick(self, stage: str, at: float) -> str:
        """One of the stage's replicas, `at` in [0, 1) choosing which."""
        with self._lock:
            names = self.replicas[stage]
            return names[int(at * len(names)) % len(names)]

    def kill(self, name: str) -> None:
        with self._lock:
            self._meant_down.add(name)
            process = self.pipeline.named[name]
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

    def restart(self, name: str) -> None:
        stage = name.rsplit("-", 1)[0]
        with self._lock:
            if name not in self.replicas[stage]:
                return  # taken away meanwhile (a scale-in)
            self._spawn(stage, name)
            self._meant_down.discard(name)

    def remove(self, stage: str, keep: str) -> str:
        """SIGTERM the oldest replica other than `keep`, as a scale-in would."""
        with self._lock:
            name = next(n for n in self.replicas[stage] if n != keep)
            self.replicas[stage].remove(name)
            self._meant_down.add(name)
            process = self.pipeline.named[name]
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()  # as Kubernetes does after the grace period
        return name

    def _watch(self) -> None:
        while not self._stop.wait(1.0):
            with self._lock:
                gone = [
                    (n, p.returncode)
                    for s in STAGES
                    for n in self.replicas[s]
                    if n not in self._meant_down
                    and (p := self.pipeline.named[n]).poll() is not None
                ]
                for name, code in gone:
                    self.exits.append(Exit(name, int(code or 0), time.monotonic() - self.t0))
                    self._meant_down.add(name)
            for name, _ in gone:
                threading.Timer(RESTART_DELAY, self.restart, args=(name,)).start()

    def alive(self) -> dict[str, bool]:
        with self._lock:
            return {
                n: self.pipeline.named[n].poll() is None for s in STAGES for n in self.replicas[s]
            }

    def close(self) -> None:
        self._stop.set()
        self._watcher.join(timeout=5)
