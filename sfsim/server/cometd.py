"""CometD (Bayeux 1.0, long-polling) for Change Data Capture, as Salesforce serves it.

`/cometd/<version>`: handshake, subscribe (with the `replay` extension: -1 new events, -2 all
retained, or a stored replay id), connect (long-poll; events first, then the connect reply with
Salesforce's advice), unsubscribe and disconnect. Unknown clients get `403::Unknown client` with
`advice.reconnect = handshake`; an expired session gets `401::Authentication invalid`.
https://developer.salesforce.com/docs/atlas.en-us.api_streaming.meta/api_streaming/using_streaming_api_client_connection.htm
https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_replay.htm
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from sfsim.eventlog import EventLog
from sfsim.server.oauth import bearer_token
from sfsim.server.state import SimState, state_of

POLL_TIMEOUT_MS = 110_000  # Salesforce's connect advice
MAX_EVENTS_PER_CONNECT = 1000
UNKNOWN_CLIENT = "403::Unknown client"
AUTH_INVALID = "401::Authentication invalid"
ALLOCATION_EXCEEDED = "403::Organization total events daily limit exceeded"


def invalid_replay_error(channel: str, replay_id: int) -> str:
    return (
        f"400::The replayId {{{replay_id}}} you provided was invalid. Please provide a valid "
        f"ID, -2 to replay all events, or -1 to replay only new events."
    )


@dataclass
class CometdClient:
    client_id: str
    token: str
    positions: dict[str, int] = field(default_factory=dict)  # channel -> last replay id delivered
    connected: bool = False  # the first connect after a handshake answers at once (Bayeux 1.0)
    polling: bool = False  # a long-poll of this client is being held open right now
    last_seen: float = 0.0  # loop time of its last message


@dataclass
class Cometd:
    poll_timeout_ms: int = POLL_TIMEOUT_MS
    clients: dict[str, CometdClient] = field(default_factory=dict)
    # Salesforce drops a client that has not reconnected within 40 s of its last answer.
    client_expiry: float = 40.0

    def expire_idle(self, now: float) -> None:
        idle = [
            c
            for c, client in self.clients.items()
            if not client.polling and now - client.last_seen > self.client_expiry
        ]
        for client_id in idle:
            del self.clients[client_id]

    def polling(self) -> int:
        return sum(1 for c in self.clients.values() if c.polling)

    def forget_clients(self) -> int:
        """Fault: the server no longer knows any client (as after a server-side session loss)."""
        count = len(self.clients)
        self.clients.clear()
        return count


COMETD: web.AppKey[Cometd] = web.AppKey("sfsim_cometd", Cometd)


async def endpoint(request: web.Request) -> web.StreamResponse:
    state, cometd = state_of(request), request.app[COMETD]
    messages = await request.json()
    if isinstance(messages, dict):
        messages = [messages]
    if state.identity.session(bearer_token(request) or "") is None:
        return web.json_response([_unauthorized(m) for m in messages], status=401)
    replies: list[dict[str, Any]] = []
    for message in messages:
        reply = await _dispatch(request, state, cometd, message)
        if reply is None:  # fault: cut the long-poll as a broken network would
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=503)
        replies.extend(reply)
    return web.json_response(replies)


def _unauthorized(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "channel": message.get("channel"),
        "id": message.get("id"),
        "successful": False,
        "error": AUTH_INVALID,
        "advice": {"reconnect": "none"},
    }


async def _dispatch(
    request: web.Request, state: SimState, cometd: Cometd, message: dict[str, Any]
) -> list[dict[str, Any]] | None:
    channel = message.get("channel")
    if channel == "/meta/handshake":
        return [_handshake(request, cometd, message)]
    now = asyncio.get_running_loop().time()
    cometd.expire_idle(now)
    client = cometd.clients.get(str(message.get("clientId")))
    if client is not None:
        client.last_seen = now
    if client is None:
        return [
            _reply(
                message,
                False,
                error=UNKNOWN_CLIENT,
                advice={"reconnect": "handshake", "interval": 0},
            )
        ]
    if channel == "/meta/subscribe":
        return [_subscribe(state, client, message)]
    if channel == "/meta/unsubscribe":
        client.positions.pop(str(message.get("subscription")), None)
        return [_reply(message, True, subscription=message.get("subscription"))]
    if channel == "/meta/connect":
        return await _connect(state, cometd, client, message)
    if channel == "/meta/disconnect":
        cometd.clients.pop(client.client_id, None)
        return [_reply(message, True)]
    return [_reply(message, False, error=f"403::Publish not allowed on {channel}")]


def _reply(message: dict[str, Any], successful: bool, **extra: Any) -> dict[str, Any]:
    reply = {"channel": message.get("channel"), "successful": successful}
    if "id" in message:
        reply["id"] = message["id"]
    if "clientId" in message:
        reply["clientId"] = message["clientId"]
    return reply | {k: v for k, v in extra.items() if v is not None}


def _handshake(request: web.Request, cometd: Cometd, message: dict[str, Any]) -> dict[str, Any]:
    client_id = secrets.token_urlsafe(24)
    client = CometdClient(client_id, bearer_token(request) or "")
    client.last_seen = asyncio.get_running_loop().time()
    cometd.clients[client_id] = client
    return _reply(
        message,
        True,
        clientId=client_id,
        version="1.0",
        minimumVersion="1.0",
        supportedConnectionTypes=["long-polling"],
        ext={"replay": True, "payload.format": True},
        advice={"interval": 0, "timeout": cometd.poll_timeout_ms, "reconnect": "retry"},
    )


def _subscribe(state: SimState, client: CometdClient, message: dict[str, Any]) -> dict[str, Any]:
    channel = str(message.get("subscription"))
    if not channel.startswith("/data/"):
        return _reply(message, False, subscription=channel, error=f"403::Unknown channel {channel}")
    replay = (message.get("ext") or {}).get("replay") or {}
    replay_id = int(replay.get(channel, -1))
    log: EventLog = state.log
    stored = replay_id not in (-1, -2)
    if not log.is_replayable(replay_id) or (stored and state.faults.invalid_replay):
        return _reply(
            message, False, subscription=channel, error=invalid_replay_error(channel, replay_id)
        )
    client.positions[channel] = log.start_position(replay_id)
    return _reply(message, True, subscription=channel)


async def _connect(
    state: SimState, cometd: Cometd, client: CometdClient, message: dict[str, Any]
) -> list[dict[str, Any]] | None:
    advice = {"interval": 0, "timeout": cometd.poll_timeout_ms, "reconnect": "retry"}
    if (
        state.faults.event_allocation_exceeded
        or state.limits.events_delivered >= state.limits.events_max
    ):
        return [_reply(message, False, error=ALLOCATION_EXCEEDED, advice={"reconnect": "none"})]
    timeout = _poll_timeout(cometd, message) if client.connected else 0.0
    client.connected = True
    if state.faults.take_drop():
        return None  # before taking events: the client gets them on its next connect
    client.polling = True
    try:
        events = await _wait_for_events(state, client, timeout)
    finally:
        client.polling = False
        client.last_seen = asyncio.get_running_loop().time()
    if events is None:
        return None  # the org went down meanwhile: the poll is cut, its events stay retained
    if state.identity.session(client.token) is None:
        return [_unauthorized(message)]
    state.limits.events_delivered += len(events)
    return [*events, _reply(message, True, advice=advice)]


def _poll_timeout(cometd: Cometd, message: dict[str, Any]) -> float:
    asked = (message.get("advice") or {}).get("timeout")
    millis = cometd.poll_timeout_ms if asked is None else min(int(asked), cometd.poll_timeout_ms)
    return millis / 1000


async def _wait_for_events(
    state: SimState, client: CometdClient, timeout: float
) -> list[dict[str, Any]] | None:
    """Events for the client once there are some, or none at the poll's timeout; None when an
    outage starts meanwhile (nothing taken)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if state.faults.outage:
            return None
        found = [] if state.faults.paused else _take(state.log, client)
        remaining = deadline - loop.time()
        if found or remaining <= 0:
            return found
        # Re-check at least every second: a subscribe or an un-pause can happen meanwhile.
        await state.log.wait(min(remaining, 1.0))


def _take(log: EventLog, client: CometdClient) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    for channel, position in client.positions.items():
        events = log.after(position, channel, MAX_EVENTS_PER_CONNECT - len(messages))
        if events:
            client.positions[channel] = events[-1].replay_id
            messages += [e.message(channel) for e in events]
    return messages
