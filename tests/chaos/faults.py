"""Each fault of the plan, put on and taken off: kill -9 and restart, a service stopped and
started, sfsim's faults, Toxiproxy's toxics and disabled proxies, a replica added and one taken
away. `inject` holds the fault for its duration and always lifts it, even when it fails."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sfsim.testing import ThreadedSfsim
from tests.chaos.schedule import Fault
from tests.chaos.services import Services
from tests.chaos.stages import Stages
from tests.chaos.toxiproxy import Toxiproxy

# Salesforce down: sfsim's `outage` (every login, REST and CometD call answers 503); an sfsim
# without it gets the nearest it has: REST answers 503, every long poll is cut before it answers
# and no event is delivered (they stay retained, as the org keeps them 72 hours)
SF_DOWN = {"outage": True}
SF_UP = {"outage": False}
SF_DOWN_OLD = {"busy": 10**9, "drop_connects": 10**9, "paused": True}
SF_UP_OLD = {"busy": 0, "drop_connects": 0, "paused": False}


class Injector:
    def __init__(self, services: Services, stages: Stages, org: ThreadedSfsim) -> None:
        self.services, self.stages, self.org = services, stages, org
        assert services.toxiproxy is not None
        self.toxiproxy: Toxiproxy = services.toxiproxy

    def inject(self, fault: Fault) -> str:
        """Puts the fault on, waits its duration, lifts it; returns what it hit."""
        kind = fault.kind.removeprefix("kill_") if fault.kind.startswith("kill_") else fault.kind
        action: Callable[[Fault], str] = {
            "listener": self._kill,
            "worker": self._kill,
            "sink": self._kill,
            "broker_restart": self._broker,
            "postgres_restart": self._postgres,
            "salesforce_outage": self._salesforce,
            "salesforce_slow": self._salesforce_slow,
            "latency": self._latency,
            "reset": self._reset,
            "partition": self._partition,
            "scale": self._scale,
        }[kind]
        return action(fault)

    def _kill(self, fault: Fault) -> str:
        name = self.stages.pick(fault.target, fault.magnitude)
        self.stages.kill(name)
        try:
            time.sleep(fault.duration)
        finally:
            self.stages.restart(name)
        return name

    def _broker(self, fault: Fault) -> str:
        return self._down_up(self.services.broker, fault.duration, "broker")

    def _postgres(self, fault: Fault) -> str:
        return self._down_up(self.services.postgres, fault.duration, "postgres")

    def _down_up(self, script: Callable[[str], None], seconds: float, what: str) -> str:
        script("stop")
        try:
            time.sleep(seconds)
        finally:
            script("start")
        return what

    def _salesforce(self, fault: Fault) -> str:
        has = self.org.admin("state")["faults"]
        down, up = (SF_DOWN, SF_UP) if "outage" in has else (SF_DOWN_OLD, SF_UP_OLD)
        return self._sfsim(fault, down, up, "503 to everything")

    def _salesforce_slow(self, fault: Fault) -> str:
        """Every answer `magnitude` seconds late: clients time out (sfsim's `slow_seconds`)."""
        if "slow_seconds" not in self.org.admin("state")["faults"]:
            raise RuntimeError("this sfsim has no slow_seconds fault")
        slow = {"slow_seconds": fault.magnitude}
        return self._sfsim(
            fault, slow, {"slow_seconds": 0}, f"answers {fault.magnitude:.0f} s late"
        )

    def _sfsim(self, fault: Fault, on: dict[str, Any], off: dict[str, Any], what: str) -> str:
        self.org.admin("faults", on)
        try:
            time.sleep(fault.duration)
        finally:
            self.org.admin("faults", off)
        return f"sfsim: {what}"

    def _latency(self, fault: Fault) -> str:
        ms = int(fault.magnitude)
        return self._toxic(fault, "latency", {"latency": ms, "jitter": ms // 4}, f"{ms} ms")

    def _reset(self, fault: Fault) -> str:
        ms = int(fault.magnitude)
        return self._toxic(fault, "reset_peer", {"timeout": ms}, f"reset after {ms} ms")

    def _toxic(self, fault: Fault, kind: str, attributes: dict[str, int], what: str) -> str:
        name = f"chaos-{fault.index}"
        self.toxiproxy.add_toxic(fault.target, name, kind, attributes)
        try:
            time.sleep(fault.duration)
        finally:
            self.toxiproxy.remove_toxic(fault.target, name)
        return f"{fault.target}: {what}"

    def _partition(self, fault: Fault) -> str:
        self.toxiproxy.enabled(fault.target, False)
        try:
            time.sleep(fault.duration)
        finally:
            self.toxiproxy.enabled(fault.target, True)
        return f"{fault.target} disabled"

    def _scale(self, fault: Fault) -> str:
        added = self.stages.add(fault.target)
        time.sleep(fault.duration)
        removed = self.stages.remove(fault.target, keep=added)
        return f"+{added} -{removed}"
