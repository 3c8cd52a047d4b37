"""aiosfstream-ng, adapted: our authenticators behind its auth extension, and its reconnect
timeout fixed for Python 3.10+.

aiocometd-ng's `_wait_connection_timeout` still passes `loop=` to `asyncio.wait_for`, which
Python 3.10 removed: with a connection timeout set, the first reconnect raises TypeError. The
subclass below overrides that one method; site-packages stay untouched.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiocometd_ng.constants import TransportState
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


class StreamingClient(Client):
    async def _wait_connection_timeout(self, timeout: float) -> None:
        """aiocometd-ng's own loop, minus `loop=`: ends once a reconnect takes over `timeout`."""
        assert self._transport is not None
        while True:
            await self._transport.wait_for_state(TransportState.CONNECTING)
            try:
                await asyncio.wait_for(
                    self._transport.wait_for_state(TransportState.CONNECTED), timeout
                )
            except TimeoutError:
                break
