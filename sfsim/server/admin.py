"""The admin API for tests and demos: faults, the clock, the Recycle Bin, transactions, traffic,
new fields.

Served under /sfsim/admin/ on the same port; sfsim listens on loopback only, and this API has no
auth of its own because it stands in for the org's Setup pages, which a test owns.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web

from sfsim import errors
from sfsim.clock import ManualClock, OffsetClock
from sfsim.generator import Generator
from sfsim.metadata import custom_field
from sfsim.server.cometd import COMETD
from sfsim.server.state import SimState, state_of

GENERATOR: web.AppKey[Generator] = web.AppKey("sfsim_generator", Generator)


async def show(request: web.Request) -> web.Response:
    state = state_of(request)
    counts = {
        name: sum(1 for r in rows.values() if not r["IsDeleted"])
        for name, rows in state.org.records.items()
    }
    return web.json_response(
        {
            "faults": state.faults.as_dict(),
            "records": counts,
            "last_replay_id": state.log.last_replay_id,
            "api_used": state.limits.api_used,
            "events_delivered": state.limits.events_delivered,
            "sessions": len(state.identity.sessions),
            "cometd_clients": len(request.app[COMETD].clients),
            "cometd_polling": request.app[COMETD].polling(),
            "pubsub_streams": state.pubsub_streams,
            "now": state.clock.now().isoformat(),
        }
    )


async def faults(request: web.Request) -> web.Response:
    state = state_of(request)
    try:
        state.faults.update(await request.json())
    except (KeyError, TypeError, ValueError) as e:
        return web.json_response(
            {"error": f"unknown or bad fault: {e}", "faults": state.faults.as_dict()}, status=400
        )
    state.org.force_gap = state.faults.gap_events
    return web.json_response(state.faults.as_dict())


async def expire_sessions(request: web.Request) -> web.Response:
    return web.json_response({"expired": state_of(request).identity.expire_all()})


async def forget_clients(request: web.Request) -> web.Response:
    return web.json_response({"forgotten": request.app[COMETD].forget_clients()})


async def clock(request: web.Request) -> web.Response:
    state = state_of(request)
    body = await request.json()
    delta = timedelta(seconds=float(body.get("advance_seconds", 0)))
    if isinstance(state.clock, ManualClock):
        state.clock.advance(delta)
    elif isinstance(state.clock, OffsetClock):
        state.clock.offset += delta
    else:
        return web.json_response({"error": "this server's clock cannot move"}, status=400)
    return web.json_response({"now": state.clock.now().isoformat()})


async def limits(request: web.Request) -> web.Response:
    state = state_of(request)
    for name, value in (await request.json()).items():
        if not hasattr(state.limits, name):
            return web.json_response({"error": f"unknown limit {name}"}, status=400)
        setattr(state.limits, name, int(value))
    return web.json_response(vars(state.limits))


async def undelete(request: web.Request) -> web.Response:
    """The Recycle Bin's Restore (REST has no undelete resource)."""
    body = await request.json()
    return await _guard(lambda s: s.org.undelete(body["object"], body["id"]), request)


async def transaction(request: web.Request) -> web.Response:
    """Several writes in one Salesforce transaction: one transactionKey, sequence numbers, and
    merged events where the same change hits several records."""
    body = await request.json()
    ids: list[str | None] = []

    def run(state: SimState) -> None:
        with state.org.transaction():
            ids.extend(_apply(state, write) for write in body["writes"])

    response = await _guard(run, request)
    return web.json_response({"ids": ids}) if response.status == 200 else response


def _apply(state: SimState, write: dict[str, Any]) -> str | None:
    op, obj = write["op"], write["object"]
    if op == "create":
        return state.org.create(obj, write.get("values", {}))
    {
        "update": lambda: state.org.update(obj, write["id"], write.get("values", {})),
        "delete": lambda: state.org.delete(obj, write["id"]),
        "undelete": lambda: state.org.undelete(obj, write["id"]),
    }[op]()
    return str(write["id"])


async def publish_raw(request: web.Request) -> web.Response:
    """Append an event exactly as given (for tests of malformed input): {"channel", "data"}."""
    body = await request.json()
    event = state_of(request).log.append(str(body["channel"]), body["data"])
    return web.json_response({"replay_id": event.replay_id})


async def add_field(request: web.Request) -> web.Response:
    """Setup's "New Field" at runtime: {"object": "Account", "name": "Tier__c", "type":
    "picklist", "picklist_values": [...]}; describe and change events show it from then on."""
    body = await request.json()
    added: list[dict[str, Any]] = []

    def run(state: SimState) -> None:
        spec = custom_field(body, "/sfsim/admin/fields")
        obj = state.org.add_field(str(body.get("object", "")), spec)
        added.append({"object": obj.name, "field": spec.describe()})

    response = await _guard(run, request)
    return web.json_response(added[0]) if response.status == 200 else response


async def generate(request: web.Request) -> web.Response:
    body = await request.json()
    made = request.app[GENERATOR].burst(int(body.get("changes", 1)))
    return web.json_response(
        {"changes": made, "last_replay_id": state_of(request).log.last_replay_id}
    )


async def _guard(action: Any, request: web.Request) -> web.Response:
    state = state_of(request)
    try:
        action(state)
    except errors.SfsimError as e:
        return web.json_response(e.body(), status=e.status)
    return web.json_response({"ok": True})
