"""Builders for sfsim tests: an org on a manual clock with its event log."""

from __future__ import annotations

from typing import Any

from sfsim.clock import ManualClock
from sfsim.eventlog import EventLog
from sfsim.metadata import OrgSchema, standard_schema
from sfsim.org import Org


def an_org(schema: OrgSchema | None = None, overflow_threshold: int = 100_000) -> Org:
    clock = ManualClock()
    return Org(schema or standard_schema(), clock, EventLog(clock), overflow_threshold)


def an_account(org: Org, **values: object) -> str:
    return org.create("Account", {"Name": "Acme Corp"} | values)


def events(org: Org) -> list[dict[str, Any]]:
    """Every retained event's data, in replay order."""
    return [e.data for e in org.log.after(0, "/data/ChangeEvents", 10_000)]


def header(event: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = event["payload"]["ChangeEventHeader"]
    return found
