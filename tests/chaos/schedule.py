"""The chaos run's plan, from one seed: the workload's size and pace, which faults hit what, when
and for how long, and when the malformed events go out. Same seed, same plan."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from tests.chaos.services import PROXIES, STAGES

KINDS = (
    "kill_listener",  # kill -9 of one replica, restarted after `duration`
    "kill_worker",
    "kill_sink",
    "broker_restart",  # kafka.sh stop, `duration` down, start
    "postgres_restart",  # postgres.sh stop (fast), `duration` down, start
    "salesforce_outage",  # sfsim answers 503 to every login, REST and CometD call
    "salesforce_slow",  # sfsim answers every call `magnitude` seconds late (clients time out)
    "latency",  # a proxy delays every packet by `magnitude` ms
    "reset",  # a proxy resets every connection after `magnitude` ms
    "partition",  # a proxy disabled: connections refused and cut
    "scale",  # a third replica of a stage joins; after `duration` one of the first two leaves
)


@dataclass(frozen=True)
class Profile:
    name: str
    changes: int  # Salesforce changes the workload makes
    rate: float  # changes a second
    accounts: int  # the org's accounts at the start (with their contacts and deals)
    extra_faults: int  # faults beyond one of each kind, of random kinds
    malformed: int  # change events published malformed on purpose
    durations: dict[str, tuple[float, float]]
    catch_up_timeout: float  # seconds a fault's canary may take to reach the store
    settle_timeout: float  # seconds the store may take to equal the oracle at the end

    @property
    def seconds(self) -> float:
        return self.changes / self.rate


SHORT = Profile(
    name="short",
    changes=2_400,
    rate=40,
    accounts=60,
    extra_faults=0,
    malformed=3,
    durations={
        "kill": (0.5, 4),
        "broker_restart": (4, 12),
        "postgres_restart": (2, 8),
        "salesforce_outage": (5, 15),
        "salesforce_slow": (10, 20),
        "latency": (5, 12),
        "reset": (3, 8),
        "partition": (30, 30),
        "scale": (5, 10),
    },
    catch_up_timeout=150,
    settle_timeout=150,
)

LONG = Profile(
    name="long",
    changes=100_000,
    rate=100,
    accounts=300,
    extra_faults=12,
    malformed=10,
    durations={
        "kill": (0.5, 15),
        "broker_restart": (5, 60),
        "postgres_restart": (2, 30),
        "salesforce_outage": (10, 60),
        "salesforce_slow": (10, 60),
        "latency": (10, 60),
        "reset": (3, 20),
        "partition": (30, 30),
        "scale": (5, 60),
    },
    catch_up_timeout=300,
    settle_timeout=900,
)


@dataclass(frozen=True)
class Fault:
    index: int
    kind: str
    target: str  # a stage, a proxy, or the service ("broker", "postgres", "salesforce")
    start: float  # seconds after the workload started
    duration: float
    magnitude: float = 0.0  # latency or reset ms; for a kill, which replica (0 <= x < 1)

    @property
    def resource(self) -> str:
        """What two faults must not hit at once (they wait for each other)."""
        return self.target


@dataclass(frozen=True)
class Plan:
    seed: int
    profile: Profile
    faults: tuple[Fault, ...]
    malformed_at: tuple[int, ...] = field(default=())  # after how many changes each goes out


def plan(seed: int, profile: Profile) -> Plan:
    rng = random.Random(seed)
    kinds = list(KINDS) + [rng.choice(KINDS) for _ in range(profile.extra_faults)]
    rng.shuffle(kinds)
    # faults start in the first 80% of the workload, so changes still flow after each
    window = profile.seconds * 0.8
    starts = sorted(rng.uniform(2, window) for _ in kinds)
    faults = tuple(
        _fault(n, kind, start, rng, profile)
        for n, (kind, start) in enumerate(zip(kinds, starts, strict=True))
    )
    malformed = tuple(sorted(rng.randrange(profile.changes) for _ in range(profile.malformed)))
    return Plan(seed, profile, faults, malformed)


def _fault(n: int, kind: str, start: float, rng: random.Random, profile: Profile) -> Fault:
    low, high = profile.durations["kill" if kind.startswith("kill_") else kind]
    duration = round(rng.uniform(low, high), 1)
    target, magnitude = _target(kind, rng)
    return Fault(n + 1, kind, target, round(start, 1), duration, round(magnitude, 3))


def _target(kind: str, rng: random.Random) -> tuple[str, float]:
    if kind.startswith("kill_"):
        return kind.removeprefix("kill_"), rng.random()
    if kind == "scale":
        return rng.choice(STAGES), 0.0
    if kind == "salesforce_slow":
        return "salesforce", rng.uniform(2, 40)
    if kind in ("latency", "reset", "partition"):
        ms = {"latency": rng.uniform(100, 2000), "reset": rng.uniform(0, 1000)}.get(kind, 0.0)
        return rng.choice(PROXIES), ms
    return kind.removesuffix("_restart").removesuffix("_outage"), 0.0
