"""`python -m tests.chaos` (what `make chaos` runs): the long chaos run, or the short one with
--short. The seed is printed first; CHAOS_SEED or --seed runs the same plan and workload again.

    python -m tests.chaos [--seed N] [--short] [--changes N] [--rate N] [--workdir DIR]

The report is printed and written to <workdir>/report.txt (and report.json, differences.txt,
every process's log). Exit status 0 when the run passed, 1 when it did not.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import sys
import time
from pathlib import Path

from tests.chaos.harness import run
from tests.chaos.schedule import LONG, SHORT, plan
from tests.e2e.pipeline import REPO


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__)
    parser.add_argument("--seed", type=int, default=None, help="default: CHAOS_SEED or random")
    parser.add_argument("--short", action="store_true", help="the variant make test runs")
    parser.add_argument("--changes", type=int, help="the workload's size (default: the profile's)")
    parser.add_argument("--rate", type=float, help="changes a second (default: the profile's)")
    parser.add_argument("--workdir", type=Path, help="default: .local/chaos/<seed>-<time>")
    args = parser.parse_args(argv)
    seed = (
        args.seed
        if args.seed is not None
        else int(os.environ.get("CHAOS_SEED") or random.randrange(10**6))
    )
    profile = SHORT if args.short else LONG
    profile = dataclasses.replace(
        profile, changes=args.changes or profile.changes, rate=args.rate or profile.rate
    )
    workdir = args.workdir or REPO / ".local" / "chaos" / f"{seed}-{time.strftime('%Y%m%d-%H%M%S')}"
    workdir.mkdir(parents=True, exist_ok=True)
    chosen = plan(seed, profile)
    sys.stdout.write(
        f"chaos seed {seed} ({profile.name}: {profile.changes} changes at {profile.rate}/s, "
        f"{len(chosen.faults)} faults); logs in {workdir}\n"
    )
    sys.stdout.flush()
    report = run(chosen, workdir)
    sys.stdout.write(report.render() + "\n")
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
