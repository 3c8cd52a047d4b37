"""What a chaos run found: the seed, each fault (kind, what it hit, start, duration, time until the
store caught up), and the verdict with its evidence (rows that differ, unexpected dead letters,
stages that exited, the backfills' results, the lines of each stage's log that say what went
wrong). Printed, and written as text and JSON beside the run's logs."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tests.chaos.schedule import Fault
from tests.chaos.stages import Exit

ALARMS = ('"level": "error"', "Traceback", "[ERROR]", "Error:", '"level": "critical"')


@dataclass
class Outcome:
    fault: Fault
    hit: str = ""  # what it hit (a replica, a proxy)
    started: float | None = None  # seconds after the workload started
    ended: float | None = None
    caught_up: float | None = None  # seconds after `ended`; None: not within the timeout
    error: str = ""  # the harness could not inject it
    missing: list[str] = field(default_factory=list)  # canaries not arrived at the timeout

    def window(self, timeout: float) -> tuple[float, float]:
        """From the fault's start until the store caught up after it."""
        start, end = self.started or 0.0, self.ended or 0.0
        return start, end + (self.caught_up if self.caught_up is not None else timeout)

    def row(self, timeout: float, others: list[Outcome]) -> str:
        f = self.fault
        start = f"{self.started:7.1f}" if self.started is not None else "      -"
        held = f"{self.ended - self.started:6.1f}" if self.ended and self.started else "     -"
        caught = f"{self.caught_up:6.1f}" if self.caught_up is not None else f">{timeout:.0f}"
        mine = self.window(timeout)
        overlapped = [
            str(o.fault.index)
            for o in others
            if o is not self
            and o.started is not None
            and o.started < mine[1]
            and (o.ended or 0.0) > mine[0]
        ]
        return (
            f"{f.index:3d}  {f.kind:18s} {self.hit[:38]:38s} {start} {held} {caught:>9s}"
            f"  {','.join(overlapped) or '-'}" + (f"  ERROR {self.error}" if self.error else "")
        )


@dataclass
class Report:
    seed: int
    profile: str
    changes: int = 0
    workload: str = ""  # the workload's digest (Workload.digest): equal for equal seeds
    malformed: int = 0
    seconds: float = 0.0  # the whole run
    settled_after: float | None = None  # seconds after the workload's and the last fault's end
    outcomes: list[Outcome] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    compared_rows: int = 0
    unexpected_letters: list[str] = field(default_factory=list)
    missing_letters: list[str] = field(default_factory=list)
    exits: list[Exit] = field(default_factory=list)
    backfills: dict[str, int | None] = field(default_factory=dict)
    evidence: dict[str, list[str]] = field(default_factory=dict)
    catch_up_timeout: float = 0.0
    error: str = ""  # the run itself broke (set-up, a timeout of the harness)

    @property
    def failures(self) -> list[str]:
        found = [f"harness: {self.error}"] if self.error else []
        if self.differences:
            found.append(f"store differs from the oracle in {len(self.differences)} rows")
        if self.settled_after is None and not self.error:
            found.append("the store never equalled the oracle")
        found += [f"unexpected dead letter: {x}" for x in self.unexpected_letters[:20]]
        found += [f"malformed event not dead-lettered: {x}" for x in self.missing_letters]
        found += [f"{e.name} exited with {e.code} at {e.at:.1f}s" for e in self.exits]
        found += [f"backfill {t} ended {rc}" for t, rc in self.backfills.items() if rc != 0]
        found += [
            f"fault {o.fault.index} not injected: {o.error}" for o in self.outcomes if o.error
        ]
        return found

    @property
    def passed(self) -> bool:
        return not self.failures

    def render(self) -> str:
        lines = [
            f"chaos run, seed {self.seed} ({self.profile}): "
            f"{'PASSED' if self.passed else 'FAILED'} in {self.seconds:.0f} s",
            f"  rerun: CHAOS_SEED={self.seed}"
            + (" make chaos" if self.profile == "long" else " .venv/bin/pytest tests/chaos"),
            f"  {self.changes} changes (workload digest {self.workload}), "
            f"{self.malformed} malformed events, "
            f"{self.compared_rows} rows compared, store settled "
            + (
                f"{self.settled_after:.1f} s after the workload and the faults ended"
                if self.settled_after is not None
                else "never"
            ),
            "",
            "  times in seconds after the workload started; caught up: from the fault's end"
            " until changes made then reached the store; overlapped: faults active meanwhile",
            "",
            "  #  fault              hit                                      start   held"
            " caught up  overlapped",
        ]
        lines += [o.row(self.catch_up_timeout, self.outcomes) for o in self.outcomes]
        lines += [
            f"  fault {o.fault.index}, canaries not in the store after {self.catch_up_timeout:.0f}"
            f" s (a measure, not a verdict): {'; '.join(o.missing[:4])}"
            for o in self.outcomes
            if o.missing
        ]
        if self.failures:
            lines += ["", "failures:", *[f"  - {f}" for f in self.failures]]
            lines += [f"  differs: {d}" for d in self.differences[:20]]
        lines += [
            "",
            "stage logs: lines at error level or with a traceback (a failed run: the last)",
        ]
        for name, found in self.evidence.items():
            shown = found if self.failures else found[:1]
            lines += [f"  {name}.log: {shown[0]}", *[f"    {x[:400]}" for x in shown[1:]]]
        return "\n".join(lines)

    def write(self, workdir: Path) -> None:
        (workdir / "report.txt").write_text(self.render() + "\n", encoding="utf-8")
        (workdir / "differences.txt").write_text("\n".join(self.differences), encoding="utf-8")
        data = asdict(self) | {"passed": self.passed, "failures": self.failures}
        (workdir / "report.json").write_text(
            json.dumps(data, indent=1, default=str), encoding="utf-8"
        )


def evidence(workdir: Path, names: list[str], most: int = 4) -> dict[str, list[str]]:
    """Per stage log: how many lines raise an alarm, and the last few of them."""
    found = {}
    for name in names:
        path = workdir / f"{name}.log"
        if not path.exists():
            continue
        lines = [
            line.strip()
            for line in path.read_text(errors="replace").splitlines()
            if any(a in line for a in ALARMS)
        ]
        if lines:
            found[name] = [f"{len(lines)} such lines", *lines[-most:]]
    return found
