"""Liveness and readiness of a gather-sync process, served next to `/metrics` as `/livez` and
`/readyz` (metrics.py `serve`).

The contract is small: a process registers named checks, each a function returning a `Verdict`
(ok, and why), and a `Heartbeat` its main loop beats on every turn.

- `/livez`: the process's loops are turning: every heartbeat is younger than its stale age.
  Failing it tells Kubernetes to restart the container, so it says nothing about dependencies:
  a broker or database that is down is waited for, and restarting would not bring it back.
  A process whose loop has not started yet (waiting for the broker at start-up) is live.
- `/readyz`: the process does its work now: the liveness checks plus the readiness checks
  (consumer in its group, producer delivering, database reachable, tenants subscribed). Until
  its main loop runs (a heartbeat registered) and a readiness check is registered, the process
  is starting: not ready.

Each answers 200 or 503 with a small JSON body naming every check, its result and reason.
https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class HealthSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HEALTH_", frozen=True, extra="ignore")

    stale_after: float = Field(
        default=60.0,
        gt=0,
        description="HEALTH_STALE_AFTER: seconds without a beat of a process's main loop after "
        "which /livez fails (and a producer with messages outstanding and no delivery report "
        "for as long stops being ready)",
    )


@dataclass(frozen=True)
class Verdict:
    """One check's answer: ok or not, why, and details for the JSON body (JSON-able)."""

    ok: bool
    reason: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def passed(cls, reason: str = "", **detail: Any) -> Verdict:
        return cls(True, reason, detail)

    @classmethod
    def failed(cls, reason: str, **detail: Any) -> Verdict:
        return cls(False, reason, detail)


Check = Callable[[], Verdict]


@dataclass(frozen=True)
class Report:
    """Every check's verdict; ok when all passed."""

    checks: Mapping[str, Verdict]
    ok: bool

    @property
    def status(self) -> int:
        return 200 if self.ok else 503

    def body(self) -> bytes:
        checks = {
            name: {"ok": v.ok, "reason": v.reason, **v.detail} for name, v in self.checks.items()
        }
        failed = {name: v.reason for name, v in self.checks.items() if not v.ok}
        document = {"status": "ok" if self.ok else "failing", "failed": failed, "checks": checks}
        return json.dumps(document, default=str).encode()


def evaluate(checks: Mapping[str, Check], empty: Verdict) -> Report:
    """Run each check; one that raises failed, its error the reason. No checks: `empty`."""
    if not checks:
        return Report({"process": empty}, empty.ok)
    verdicts = {name: _run(check) for name, check in sorted(checks.items())}
    return Report(verdicts, all(v.ok for v in verdicts.values()))


def _run(check: Check) -> Verdict:
    try:
        return check()
    except Exception as e:  # a check that cannot tell (a closed client, say) is not passing
        return Verdict.failed(f"{type(e).__name__}: {e}"[:300])


def succeeds(probe: Callable[[], object], reason: str) -> Check:
    """A check passing when `probe` returns, failing with its error when it raises."""

    def check() -> Verdict:
        probe()
        return Verdict.passed(reason)

    return check


class Heartbeat:
    """A loop's last turn: `beat()` each turn; as a check, failing once stale."""

    def __init__(self, stale_after: float, now: Callable[[], float]) -> None:
        self.stale_after, self._now = stale_after, now
        self._last = now()

    def beat(self) -> None:
        self._last = self._now()

    def pacing(self, wait: Callable[[float], object]) -> Callable[[float], object]:
        """`wait`, beating before, after, and every half stale age in between: a loop waiting out
        a dependency on purpose (a retry's backoff) is turning, not stuck. A wait that answers
        True (a stop event set) ends at once."""

        def waited(seconds: float) -> object:
            result: object = None
            remaining = seconds
            while result is not True:
                self.beat()
                step = min(remaining, self.stale_after / 2)
                result = wait(step)
                remaining -= step
                if remaining <= 0:
                    break
            self.beat()
            return result

        return waited

    def __call__(self) -> Verdict:
        age = self._now() - self._last
        if age > self.stale_after:
            return Verdict.failed(
                f"no turn of the loop for {age:.0f} s (stale after {self.stale_after:.0f} s)",
                age_seconds=round(age, 1),
            )
        return Verdict.passed("turning", age_seconds=round(age, 1))


class Deliveries:
    """Whether a producer is delivering: nothing outstanding, or a delivery report (success) came
    in recently. `report` is called with each delivery report (from any thread); `verdict` is
    given the producer's count of messages not yet acknowledged."""

    def __init__(self, grace: float, now: Callable[[], float]) -> None:
        self.grace, self._now = grace, now
        self._delivered: float | None = None  # when the newest successful report came
        self._error: tuple[float, str] | None = None  # the newest failed report since then
        self._waiting_since: float | None = None  # when a check first saw messages outstanding
        self.delivered = 0  # successful reports so far

    def report(self, error: str | None) -> None:
        if error is None:
            self._delivered, self._error = self._now(), None
            self.delivered += 1
        else:
            self._error = (self._now(), error)

    def verdict(self, outstanding: int) -> Verdict:
        now, counts = self._now(), {"outstanding": outstanding, "delivered": self.delivered}
        if outstanding == 0:
            self._waiting_since = None
            return Verdict.passed("nothing outstanding", **counts)
        if self._waiting_since is None:
            self._waiting_since = now
        if self._error is not None and now - self._error[0] <= self.grace:
            return Verdict.failed(f"delivery failed: {self._error[1]}", **counts)
        progress = max(self._waiting_since, self._delivered or self._waiting_since)
        if now - progress > self.grace:
            waited = now - progress
            return Verdict.failed(
                f"{outstanding} messages outstanding and none delivered for {waited:.0f} s",
                **counts,
            )
        return Verdict.passed("delivering", **counts)


class KafkaMember(Protocol):
    """What `GroupWatch` asks of a confluent-kafka Consumer."""

    def memberid(self) -> str | None: ...

    def assignment(self) -> list[Any]: ...


class GroupWatch:
    """Whether a confluent-kafka consumer is in its group (joined; partitions assigned, maybe
    none), as the consumer's own loop last saw it: `observe` on each turn. (Asked from another
    thread, `memberid()` blocked while the loop was inside `consume()`: tried, seconds.) A loop
    that stops turning leaves this stale, which its heartbeat reports."""

    def __init__(self) -> None:
        self._seen: tuple[str | None, int] | None = None

    def observe(self, consumer: KafkaMember) -> None:
        self._seen = (consumer.memberid(), len(consumer.assignment()))

    def __call__(self) -> Verdict:
        if self._seen is None:
            return Verdict.failed("not polled yet")
        member, partitions = self._seen
        if not member:
            return Verdict.failed("not in its consumer group (joining, or the broker is away)")
        return Verdict.passed(f"{partitions} partitions assigned", partitions=partitions)


class Health:
    """A process's checks. Thread-safe: checks register on the process's threads and run on the
    HTTP server's."""

    def __init__(
        self, now: Callable[[], float] = time.monotonic, stale_after: float | None = None
    ) -> None:
        self.now = now
        self._stale_after = stale_after
        self._live: dict[str, Check] = {}
        self._ready: dict[str, Check] = {}
        self._lock = threading.Lock()

    @property
    def stale_after(self) -> float:
        """As given, else HEALTH_STALE_AFTER (read when first needed, not at import)."""
        if self._stale_after is None:
            self._stale_after = HealthSettings().stale_after
        return self._stale_after

    def live(self, name: str, check: Check) -> None:
        with self._lock:
            self._live[name] = check

    def ready(self, name: str, check: Check) -> None:
        """Register (or replace) a readiness check."""
        with self._lock:
            self._ready[name] = check

    def heartbeat(self, name: str) -> Heartbeat:
        """A new heartbeat of the loop `name`, as a liveness check (replacing an older one)."""
        beat = Heartbeat(self.stale_after, self.now)
        self.live(name, beat)
        return beat

    def group(self, name: str) -> GroupWatch:
        """A consumer's group membership, as the readiness check `name`."""
        watch = GroupWatch()
        self.ready(name, watch)
        return watch

    def deliveries(self, name: str, outstanding: Callable[[], int]) -> Deliveries:
        """A producer's delivery tracker, as the readiness check `name`."""
        tracker = Deliveries(self.stale_after, self.now)
        self.ready(name, lambda: tracker.verdict(outstanding()))
        return tracker

    def liveness(self) -> Report:
        with self._lock:
            checks = dict(self._live)
        return evaluate(checks, Verdict.passed("starting: no loop running yet"))

    def readiness(self) -> Report:
        with self._lock:
            checks = self._live | self._ready
            starting = not (self._live and self._ready)
        if starting:
            return evaluate({}, Verdict.failed("starting: its loop is not running yet"))
        return evaluate(checks, Verdict.failed("no checks"))


# The process's own, like prometheus_client's REGISTRY; tests give each process under test its own.
HEALTH = Health()
