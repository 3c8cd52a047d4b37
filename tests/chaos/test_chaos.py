"""The short chaos run (issue 12, item 5), in `make test`: the real broker, PostgreSQL and sfsim
(the run's own broker and database, so the restarts disturb no other test), two tenants, each
stage as two replicas, a seeded workload of a few thousand changes with a backfill of each tenant
racing it, and one fault of each kind at random times (kill -9 of each stage, a broker restart, a
PostgreSQL restart, a Salesforce outage and a slow Salesforce, latency, connection resets and a
30 s partition between a stage and Kafka or PostgreSQL, a replica added and one taken away).

The long run (100,000 changes, more faults) is `make chaos` (`python -m tests.chaos`); it is no
test function, so pytest never collects it. CHAOS_SEED=<seed> runs a seed's plan and workload
again."""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path

import pytest

from tests.chaos.harness import run
from tests.chaos.schedule import KINDS, SHORT, plan


@pytest.mark.timeout(420)  # the run takes about 3 minutes; the harness's own limits come first
def test_given_one_fault_of_each_kind_during_the_workload_then_the_store_equals_the_oracle_and_the_dlqs_hold_only_the_malformed_events(
    tmp_path: Path,
) -> None:
    seed = int(os.environ.get("CHAOS_SEED") or random.randrange(10**6))
    sys.stderr.write(f"chaos seed {seed} (CHAOS_SEED={seed} runs it again)\n")
    chosen = plan(seed, SHORT)
    assert sorted(f.kind for f in chosen.faults) == sorted(KINDS)

    report = run(chosen, tmp_path)

    sys.stderr.write(report.render() + "\n")
    assert report.passed, report.render()
    assert report.changes == SHORT.changes
    assert report.compared_rows > 300  # not a vacuous comparison
