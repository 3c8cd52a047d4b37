"""aiosfstream-ng, adapted: our authenticators behind its auth extension, and a session that
ends at its first failed long-poll.

aiocometd-ng reconnects a failed long-poll (timed out, reset) with the same client id. But the
server may have answered it: it then counts the events of that answer as delivered, and the
reconnected client goes on after them, so they are lost for good (the checkpoint soon passes
them). sfsim shows it with `slow_seconds` a little over the poll's request timeout: 2 to 4 of
7 to 9 changes lost before this change. So the session ends at the first failed connect, and
the stream subscribes again from its checkpoints, which only ever cover what Kafka has.
(aiocometd-ng's own `_wait_connection_timeout`, replaced here, also still passes `loop=` to
`asyncio.wait_for`, which Python 3.10 removed.) Site-packages stay untouched.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import orjson
from aiocometd_ng.constants import TransportState
from aiocometd_ng.exceptions import ClientInvalidOperation, ServerError, TransportTimeoutError
from aiocometd_ng.transports.abc import Transport
from aiosfstream_ng.auth import AuthenticatorBase
from aiosfstream_ng.client import Client
from aiosfstream_ng.replay import ReplayMarker, ReplayMarkerStorage

from connectors.salesforce.auth import Authenticator
from connectors.salesforce.errors import AuthenticationFailed


class StreamingAuthenticator(AuthenticatorBase):
    """aiosfstream's auth extension, fed by one of our flows (run in a thread: they are sync)."""

    def __init__(self, authenticator: Authenticator) -> None:
        super().__init__()
        self._authenticator = authenticator
        self.failure: str | None = None

    async def _authenticate(self) -> tuple[int, dict[str, Any]]:
        try:
            token = await asyncio.to_thread(self._authenticator.authenticate)
        except AuthenticationFailed as e:
            self.failure = str(e)
            return 400, {"error": "authentication_failed", "error_description": str(e)}
        self.failure = None
        return 200, {
            "access_token": token.access_token.get_secret_value(),
            "instance_url": token.instance_url,
            "token_type": "Bearer",
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"  # the token stays out of any log line


class CheckpointReplay(ReplayMarkerStorage):
    """Replay ids come from our checkpoints (written after Kafka acknowledged the change), never
    from what the client merely received; a new channel starts at -1 (new events only)."""

    def __init__(self, positions: dict[str, int]) -> None:
        super().__init__()
        self.positions = positions

    async def get_replay_marker(self, subscription: str) -> ReplayMarker | None:
        replay_id = self.positions.get(subscription)
        return None if replay_id is None else ReplayMarker(date="", replay_id=replay_id)

    async def set_replay_marker(self, subscription: str, replay_marker: ReplayMarker) -> None:
        return None  # manual policy: the checkpointer moves positions, not the client

    async def get_replay_id(self, subscription: str) -> int | None:
        marker = await self.get_replay_marker(subscription)
        return -1 if marker is None else marker.replay_id


_LONG_NUMBER = re.compile(r"[0-9]{19}")


def json_loads(text: str) -> Any:
    """orjson, several times faster on each long-poll answer. An answer with a run of 19 digits
    or more is read by the standard module as before: orjson turns an integer past 64 bits into
    a float (Salesforce's numbers have at most 18 digits; record ids are text), and what it
    refuses (NaN) is read there too, so such an event still reaches the normalizer (and its
    DLQ) instead of failing the whole answer on every retry."""
    if _LONG_NUMBER.search(text) is None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


def json_dumps(value: Any) -> str:
    """Each connect request's body, with the same fallback."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)


_ENDED: dict[str, Any] = {}  # put in the incoming queue, after what was received, at the end


class StreamingClient(Client):
    """Needs a non-zero `connection_timeout` (it is what makes the client watch its transport);
    its length no longer matters: the session ends at the first failed connect.

    The library waits for each message with three new tasks (the queue, a failed connect, the
    server's disconnect) and cancels two of them: at 1,000 events a second that was a sixth of
    the listener's CPU. Here one watch per session puts an end marker in the incoming queue when
    the transport fails or the server disconnects, and a message is one wait on the queue."""

    _watch: asyncio.Task[bool] | None = None

    def __init__(self, authenticator: AuthenticatorBase, **options: Any) -> None:
        super().__init__(
            authenticator, **({"json_dumps": json_dumps, "json_loads": json_loads} | options)
        )

    async def _wait_connection_timeout(self, timeout: float) -> None:
        """Ends (and `receive` raises "Lost connection") once a connect has failed; events
        already received are still handed out first."""
        assert self._transport is not None
        await self._transport.wait_for_state(TransportState.CONNECTING)

    async def _get_message(self, connection_timeout: float) -> dict[str, Any]:
        queue, transport = self._incoming_queue, self._transport
        assert queue is not None and transport is not None
        if self._watch is None and not self.closed:
            self._watch = asyncio.ensure_future(self._ending(queue, transport, connection_timeout))
        message = await queue.get()
        if message is not _ENDED:
            return message
        queue.put_nowait(message)  # room: one was just taken; later calls end the same way
        if self.closed or self._watch is None:
            raise ClientInvalidOperation("The client is closed and there are no pending messages.")
        if self._watch.result():
            await self.close()
            raise ServerError("Connection closed by the server", transport.last_connect_result)
        raise TransportTimeoutError("Lost connection with the server.")

    async def _ending(
        self, queue: asyncio.Queue[dict[str, Any]], transport: Transport, timeout: float
    ) -> bool:
        """Waits for a failed connect or the server's disconnect (True: the server's, which wins
        when both happened, as in the library), then queues the end marker behind the messages
        received before it."""
        lost = asyncio.ensure_future(self._wait_connection_timeout(timeout))
        gone = asyncio.ensure_future(transport.wait_for_state(TransportState.SERVER_DISCONNECTED))
        try:
            done, _ = await asyncio.wait([lost, gone], return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
            gone.cancel()
        await queue.put(_ENDED)
        return gone in done

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        self._quiet_connect_task()
        await super().close()

    def _quiet_connect_task(self) -> None:
        """The library cancels its connect task at close, and that task's done-callback reads
        the result: a CancelledError, which escapes the callback's `except Exception` and is
        logged by the loop as "Exception in callback" with a traceback at every shutdown. A
        connect ended by close has nothing to hand on, so the callback is taken off first."""
        transport = self._transport
        task = getattr(transport, "_connect_task", None)  # aiocometd_ng's TransportBase
        if transport is not None and task is not None and not task.done():
            task.remove_done_callback(transport._connect_done)  # type: ignore[attr-defined]
