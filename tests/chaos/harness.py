"""One chaos run: the run's own broker, PostgreSQL and Toxiproxy; sfsim on real time with two
tenants; the listener, the worker and the sink as two replicas each; a seeded workload with a
backfill of each tenant racing it; the plan's faults at their times, each followed by a canary
timing how long the store takes to catch up. Then, with no config change or other
re-evaluation after the last fault, the store must come to equal the oracle (the guide's rules,
written again in tests/spec, on sfsim's final records) row for row, and the DLQs must hold only
the malformed events, each once per tenant at least."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from confluent_kafka.admin import AdminClient
from sqlalchemy import Engine

from connectors.gather import migrate
from connectors.gather.engine import make_engine
from connectors.kafka.settings import KafkaSettings
from schemas.contract import DeadLetter
from sfsim.clock import SystemClock
from sfsim.testing import ThreadedSfsim
from tests.chaos import offsets
from tests.chaos.faults import Injector
from tests.chaos.report import Outcome, Report, evidence
from tests.chaos.schedule import Fault, Plan
from tests.chaos.services import Services
from tests.chaos.stages import Stages
from tests.chaos.workload import (
    Canary,
    UniqueEmails,
    Workload,
    alpha,
    beta,
    gather_accounts,
)
from tests.connectors.salesforce.harness import wait_until
from tests.e2e.oracle import Oracle, apply_rules, compared, differences, seed_accounts
from tests.e2e.pipeline import Pipeline, backfill
from tests.spec.product import read_store
from tests.support.topics import read_all

TENANTS = ("alpha", "beta")


def run(plan: Plan, workdir: Path) -> Report:
    """The whole run; the report says what passed and what failed (it never raises for a
    failure of the pipeline, only the set-up's own)."""
    t0 = time.monotonic()
    report = Report(plan.seed, plan.profile.name, catch_up_timeout=plan.profile.catch_up_timeout)
    report.outcomes = [Outcome(f) for f in plan.faults]
    services = Services(workdir)
    try:
        services.start()
        Run(plan, workdir, services, report).go()
    except Exception as e:  # the report says what broke, with the seed
        report.error = f"{type(e).__name__}: {e}"
    finally:
        services.close()
        report.seconds = time.monotonic() - t0
        report.write(workdir)
    return report


class Run:
    def __init__(self, plan: Plan, workdir: Path, services: Services, report: Report) -> None:
        self.plan, self.workdir, self.services, self.report = plan, workdir, services, report
        self.engine: Engine = make_engine(services.database_url)
        self.kafka = KafkaSettings(bootstrap_servers=services.bootstrap, partitions=3)
        self.t0 = time.monotonic()
        self._locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
        self.quiet_since = 0.0  # monotonic time of the workload's end or the last fault's
        self.malformed: list[str] = []
        self.canaried: set[str] = set()  # contacts a canary changed (Canary.make)
        # set once a fault is lifted and its canary made; the canaries' waits go on meanwhile,
        # beside the final comparison
        self._lifted = {f.index: threading.Event() for f in plan.faults}
        self._threads: list[threading.Thread] = []

    def say(self, *parts: Any) -> None:
        line = " ".join(str(p) for p in parts)
        sys.stderr.write(f"[chaos {time.monotonic() - self.t0:7.1f}s] {line}\n")

    def go(self) -> None:
        migrate.upgrade(self.engine)
        org = ThreadedSfsim(
            self.workdir / "tls",
            clock=SystemClock(),
            accounts=self.plan.profile.accounts,
            seed=self.plan.seed,
            poll_timeout_ms=2_000,
        )
        org.generator = UniqueEmails(org.state.org, self.plan.seed)
        with org:
            # a real org's daily allocations (50,000 delivered events, 15,000 API calls) are
            # bought up to the traffic; a run of 100,000 changes to two subscribers would use
            # them up and test the allocation (a fault of its own), not the faults planned
            org.admin("limits", {"events_max": 10**9, "api_max": 10**9})
            seeds = gather_accounts(org)
            seed_accounts(self.engine, seeds)
            pipeline = Pipeline(self.kafka, org, self.services.database_url, self.workdir)
            stages = Stages(pipeline, self.services, self.t0)
            try:
                self._pipeline(org, pipeline, stages, seeds)
            finally:
                stages.close()
                self.report.exits = list(stages.exits)
                pipeline.__exit__(None, None, None)
                self.report.evidence = evidence(self.workdir, list(pipeline.named))
                self.engine.dispose()

    def _pipeline(
        self, org: ThreadedSfsim, pipeline: Pipeline, stages: Stages, seeds: list[dict[str, Any]]
    ) -> None:
        done = pipeline.cli("topics", "provision")
        assert done.returncode == 0, done.stderr
        stages.start(replicas=2)
        configs = [alpha(org), beta(org)]
        for config in configs:
            pipeline.apply(config, config["tenant"])
        subscribed = wait_until(lambda: org.admin("state")["cometd_polling"] >= 2, 120, step=0.5)
        assert subscribed, "the listeners never subscribed both tenants"
        self.say("pipeline up; workload and backfills start")
        self._workload(org, pipeline, stages)
        self.say(f"workload done ({self.report.changes} changes); waiting for the store")
        oracle = apply_rules(configs, org, seeds)
        self._settle(oracle)
        if self.report.differences:
            self._stalled(pipeline.prefix)
        for thread in self._threads:  # the canaries still waiting: a settled store has them
            thread.join(timeout=self.plan.profile.catch_up_timeout + 10)
        self._dead_letters(pipeline.prefix)

    def _workload(self, org: ThreadedSfsim, pipeline: Pipeline, stages: Stages) -> None:
        workload = Workload(org, self.plan)
        injector = Injector(self.services, stages, org)
        start = time.monotonic()
        workload.start()
        fills = {t: backfill(pipeline, t) for t in TENANTS}
        self._threads = [
            threading.Thread(target=self._fault, args=(o, injector, org, start), daemon=True)
            for o in self.report.outcomes
        ]
        for thread in self._threads:
            thread.start()
        limit = self.plan.profile.seconds * 3 + 600
        if not workload.finished.wait(limit):
            raise TimeoutError(f"the workload did not finish in {limit:.0f} s")
        for o in self.report.outcomes:  # every fault lifted and its canary made
            if not self._lifted[o.fault.index].wait(max(1.0, start + limit - time.monotonic())):
                raise TimeoutError(f"fault {o.fault.index} was not lifted in time")
        for tenant, fill in fills.items():
            try:
                output = fill.communicate(timeout=300)[0]
            except subprocess.TimeoutExpired:
                fill.kill()
                output = fill.communicate()[0]
            (self.workdir / f"backfill-{tenant}.log").write_text(output, encoding="utf-8")
            self.report.backfills[tenant] = fill.returncode
        self.report.changes, self.report.malformed = workload.made, len(workload.malformed)
        self.report.workload = workload.digest()
        self.quiet_since = max(self.quiet_since, workload.finished_at)
        self.malformed = list(workload.malformed)

    def _fault(
        self, outcome: Outcome, injector: Injector, org: ThreadedSfsim, start: float
    ) -> None:
        fault: Fault = outcome.fault
        time.sleep(max(0.0, start + fault.start - time.monotonic()))
        with self._locks[fault.resource]:
            outcome.started = time.monotonic() - start
            self.say(f"fault {fault.index} {fault.kind} on {fault.target} for {fault.duration} s")
            try:
                outcome.hit = injector.inject(fault)
            except Exception as e:  # reported as the fault's error
                outcome.error = f"{type(e).__name__}: {e}"
            outcome.ended = time.monotonic() - start
            self.quiet_since = max(self.quiet_since, time.monotonic())
        rng = random.Random(f"{self.plan.seed}-{fault.index}")
        try:
            canary = Canary.make(org, fault.index, rng, self.canaried)
        finally:
            self._lifted[fault.index].set()  # the oracle is computed after every canary
        lifted = time.monotonic()
        timeout = self.plan.profile.catch_up_timeout
        if wait_until(lambda: canary.arrived(self.engine, org), timeout, 0.5):
            outcome.caught_up = time.monotonic() - lifted
        else:
            outcome.missing = canary.missing(self.engine, org)
        self.say(f"fault {fault.index} {fault.kind}: caught up after {outcome.caught_up} s")

    def _settle(self, oracle: Oracle) -> None:
        found: list[str] = []

        def equal() -> bool:
            nonlocal found
            try:
                found = differences(read_store(self.engine), oracle)
            except Exception as e:  # the database may still be coming back
                found = [f"store unreadable: {e}"]
            return not found

        if wait_until(equal, self.plan.profile.settle_timeout, step=3):
            self.report.settled_after = time.monotonic() - self.quiet_since
            time.sleep(5)  # and it stays equal: nothing late undoes a row
            equal()
        self.report.differences = found
        self.report.compared_rows = len(compared(read_store(self.engine), oracle))

    def _stalled(self, prefix: str) -> None:
        """Where each group stands on each topic (offsets.txt: a stalled stage is a group with lag
        left), and with CHAOS_HOLD_SECONDS set, the services and stages kept that long for a
        look (the line printed says where the broker and the database are)."""
        try:
            (self.workdir / "offsets.txt").write_text(offsets.render(self.kafka, prefix))
        except Exception as e:  # the broker may be what failed; the report goes on
            self.say(f"offsets not read: {type(e).__name__}: {e}")
        hold = float(os.environ.get("CHAOS_HOLD_SECONDS") or 0)
        if hold > 0:
            self.say(
                f"holding {hold:.0f} s: KAFKA_BOOTSTRAP_SERVERS={self.services.bootstrap} "
                f"GATHER_DATABASE_URL={self.services.database_url} prefix {prefix}"
            )
            time.sleep(hold)

    def _dead_letters(self, prefix: str) -> None:
        admin = AdminClient(self.kafka.admin_config())
        topics = sorted(
            t
            for t in admin.list_topics(timeout=30).topics
            if t.startswith(prefix) and t.endswith(".dlq")
        )
        seen: set[tuple[str, str]] = set()
        for topic in topics:
            for key, value in read_all(self.kafka, [topic]):
                letter = DeadLetter.decode(value)
                marker = next((m for m in self.malformed if f'"{m}"' in letter.original), None)
                if marker is None:
                    self.report.unexpected_letters.append(
                        f"{topic} key={key.decode(errors='replace')} {letter.stage}: "
                        f"{letter.error[:200]} | {letter.original[:200]}"
                    )
                else:
                    seen.add((key.decode(), marker))
        self.report.missing_letters = [
            f"{t}: {m}" for m in self.malformed for t in TENANTS if (t, m) not in seen
        ]
