"""`gather-sync run` restarts a stage that exits, with backoff, as Kubernetes would."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cli.restarts import Restart, RestartPolicy, Stages, next_restart

POLICY = RestartPolicy(base=1.0, cap=60.0, recovered_after=120.0)


@pytest.mark.parametrize(
    ("streak", "ran_for", "expected"),
    [
        (0, 0.5, Restart(1.0, 1)),  # the first exit: the base wait
        (1, 3.0, Restart(2.0, 2)),  # exited again soon after: doubled
        (2, 3.0, Restart(4.0, 3)),
        (6, 10.0, Restart(60.0, 7)),  # 64 s capped
        (40, 10.0, Restart(60.0, 41)),  # and stays capped
        (5, 120.0, Restart(1.0, 1)),  # it had run long enough to count as recovered
        (5, 119.9, Restart(32.0, 6)),  # just short of it: the streak goes on
        (10_000, 1.0, Restart(60.0, 10_001)),  # no overflow however long the streak
    ],
)
def test_next_restart_by_case(streak: int, ran_for: float, expected: Restart) -> None:
    assert next_restart(streak, ran_for, POLICY) == expected


@given(st.integers(0, 10_000), st.floats(0, 1e6))
def test_the_wait_is_never_below_the_base_nor_above_the_cap(streak: int, ran_for: float) -> None:
    restart = next_restart(streak, ran_for, POLICY)

    assert POLICY.base <= restart.delay <= POLICY.cap
    assert restart.streak in (1, streak + 1)


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def exits_with(code: int) -> subprocess.Popen[bytes]:
    """A real process that exits at once with `code`, waited for."""
    process = subprocess.Popen([sys.executable, "-c", f"raise SystemExit({code})"])
    process.wait(timeout=30)
    return process


def test_given_a_stage_that_keeps_exiting_then_it_is_restarted_with_growing_waits_and_said_so() -> (
    None
):
    clock, said, spawned = Clock(), list[str](), list[str]()

    def spawn(name: str) -> subprocess.Popen[bytes]:
        spawned.append(name)
        return exits_with(3)

    stages = Stages(spawn, clock, said.append, POLICY)
    stages.start(["sink"])
    clock.t = 5
    stages.tend()  # exited: restart due at 6
    clock.t = 5.9
    stages.tend()  # not yet
    early = len(spawned)
    clock.t = 6
    stages.tend()  # started again
    clock.t = 7
    stages.tend()  # exited again after 1 s: 2 s

    assert early == 1
    assert spawned == ["sink", "sink"]
    assert said == [
        "sink exited with code 3; restart 1 in 1 s (see its log)",
        "sink started again (restart 1)",
        "sink exited with code 3; restart 2 in 2 s (see its log)",
    ]


def test_given_a_running_stage_then_tending_leaves_it_alone() -> None:
    clock, said = Clock(), list[str]()
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        stages = Stages(lambda _name: running, clock, said.append, POLICY)
        stages.start(["listener"])
        clock.t = 500
        stages.tend()

        assert said == []
        assert stages.processes() == [running]
    finally:
        running.kill()
        running.wait()


def test_given_a_stage_that_ran_long_before_exiting_then_its_wait_starts_over() -> None:
    clock, said = Clock(), list[str]()
    stages = Stages(lambda _name: exits_with(1), clock, said.append, POLICY)
    stages.start(["worker"])
    for at in (1, 2, 3, 5):  # two quick exits, each started again: the next wait would be 4 s
        clock.t = at
        stages.tend()
    clock.t = 200  # the third run lasted 195 s
    stages.tend()

    assert said[-1] == "worker exited with code 1; restart 3 in 1 s (see its log)"


def test_given_a_stage_killed_by_a_signal_then_the_output_names_the_signal() -> None:
    clock, said = Clock(), list[str]()

    def killed(_name: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        process.kill()
        process.wait(timeout=30)
        return process

    stages = Stages(killed, clock, said.append, POLICY)
    stages.start(["listener"])
    stages.tend()

    assert said == ["listener was killed by signal 9; restart 1 in 1 s (see its log)"]
