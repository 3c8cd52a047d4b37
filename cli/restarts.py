"""`gather-sync run` keeps its stages running as Kubernetes keeps a pod's containers running: a
stage process that exits, for any reason, is started again after a capped exponential backoff
(kubelet's CrashLoopBackOff, on a shorter scale for a laptop), which starts over once the stage
has run long enough to count as recovered. Every exit and restart is said in the output.
https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#restart-policy
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RestartPolicy:
    base: float = 1.0  # the first restart's wait (kubelet: 10 s)
    cap: float = 60.0  # the longest wait (kubelet: 300 s)
    recovered_after: float = 120.0  # a stage that ran this long starts over at `base` (10 min)


@dataclass(frozen=True)
class Restart:
    delay: float  # seconds to wait before starting the stage again
    streak: int  # exits in a row the backoff counted, this one included


def next_restart(streak: int, ran_for: float, policy: RestartPolicy) -> Restart:
    """The wait after a stage exited: `base * 2**(streak-1)` up to `cap`, where `streak` counts
    the exits in a row, each after a run shorter than `recovered_after` (a stage that had run
    that long before exiting starts a new streak)."""
    streak = 1 if ran_for >= policy.recovered_after else streak + 1
    return Restart(min(policy.cap, policy.base * 2.0 ** min(streak - 1, 62)), streak)


@dataclass
class Stage:
    name: str
    process: subprocess.Popen[bytes]
    started: float
    streak: int = 0
    restarts: int = 0
    due: float | None = None  # when it starts again, while it is down


@dataclass
class Stages:
    """The stage processes, each started again after it exits; `tend` is called on each tick."""

    spawn: Callable[[str], subprocess.Popen[bytes]]
    now: Callable[[], float]
    say: Callable[[str], None]
    policy: RestartPolicy = field(default_factory=RestartPolicy)
    stages: list[Stage] = field(default_factory=list)

    def start(self, names: list[str]) -> None:
        for name in names:
            self.stages.append(Stage(name, self.spawn(name), self.now()))

    def tend(self) -> None:
        for stage in self.stages:
            if stage.due is None:
                self._exited(stage)
            elif self.now() >= stage.due:
                self._restart(stage)

    def _exited(self, stage: Stage) -> None:
        code = stage.process.poll()
        if code is None:
            return
        restart = next_restart(stage.streak, self.now() - stage.started, self.policy)
        stage.streak, stage.due = restart.streak, self.now() + restart.delay
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        self.say(
            f"{stage.name} {how}; restart {stage.restarts + 1} in {restart.delay:g} s (see its log)"
        )

    def _restart(self, stage: Stage) -> None:
        stage.process, stage.started, stage.due = self.spawn(stage.name), self.now(), None
        stage.restarts += 1
        self.say(f"{stage.name} started again (restart {stage.restarts})")

    def processes(self) -> list[subprocess.Popen[bytes]]:
        """The current process of each stage, in start order."""
        return [s.process for s in self.stages]
