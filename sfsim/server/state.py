"""Everything one running sfsim serves, shared by its HTTP handlers."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from sfsim.auth import Identity, Session
from sfsim.clock import Clock
from sfsim.eventlog import EventLog
from sfsim.faults import Faults
from sfsim.org import Org

API_VERSIONS = ("58.0", "59.0", "60.0", "61.0", "62.0")
DAILY_API_REQUESTS = 15_000
DAILY_DELIVERED_EVENTS = 50_000


@dataclass
class Limits:
    api_max: int = DAILY_API_REQUESTS
    api_used: int = 0
    events_max: int = DAILY_DELIVERED_EVENTS
    events_delivered: int = 0

    def header(self) -> str:
        """`Sforce-Limit-Info: api-usage=25/15000`
        https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm
        """
        return f"api-usage={self.api_used}/{self.api_max}"


@dataclass
class SimState:
    org: Org
    identity: Identity
    log: EventLog
    clock: Clock
    faults: Faults = field(default_factory=Faults)
    limits: Limits = field(default_factory=Limits)
    query_cursors: dict[str, dict[str, Any]] = field(default_factory=dict)
    bulk_jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    base_url: str = ""
    pubsub_streams: int = 0  # Subscribe streams open on the Pub/Sub API


STATE: web.AppKey[SimState] = web.AppKey("sfsim_state", SimState)
SESSION_KEY: web.RequestKey[Session] = web.RequestKey("sfsim_session", Session)


def state_of(request: web.Request) -> SimState:
    return request.app[STATE]
