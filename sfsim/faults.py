"""Faults a test can switch on through the admin API, each as Salesforce shows it to clients."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Faults:
    busy: int = 0  # the next N REST calls answer 503 SERVER_UNAVAILABLE
    request_limit_exceeded: bool = False  # REST answers 403 REQUEST_LIMIT_EXCEEDED
    event_allocation_exceeded: bool = False  # /meta/connect fails: daily delivery allocation used
    drop_connects: int = 0  # the next N long-polls are cut before they answer
    invalid_replay: bool = False  # subscribe with a stored replay id fails with 400::...
    paused: bool = False  # events are retained but not delivered
    gap_events: bool = False  # commits publish GAP_* events instead of full ones
    # the next N describes answer fields without their "type": a reply in a shape no client
    # expects, for tests of how a client survives what it did not plan for
    malformed_describes: int = 0
    # the org is down (an incident, a maintenance window): every login, REST and CometD call
    # answers 503 until it is switched off; held long-polls are cut without their events
    outage: bool = False
    # every login, REST and CometD answer waits this many seconds first: an org so slow that
    # clients give up (their request timeouts) before it answers
    slow_seconds: float = 0.0

    def update(self, changes: dict[str, Any]) -> None:
        for name, value in changes.items():
            if name not in self.__dataclass_fields__:
                raise KeyError(name)
            current = getattr(self, name)
            if isinstance(current, bool) and not isinstance(value, bool):
                # bool("false") is True: a switch takes JSON true or false only
                raise TypeError(f"{name} takes true or false, not {value!r}")
            setattr(self, name, type(current)(value))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def take_busy(self) -> bool:
        if self.busy > 0:
            self.busy -= 1
            return True
        return False

    def take_malformed_describe(self) -> bool:
        if self.malformed_describes > 0:
            self.malformed_describes -= 1
            return True
        return False

    def take_drop(self) -> bool:
        if self.drop_connects > 0:
            self.drop_connects -= 1
            return True
        return False
