"""The listener's Pub/Sub transport: one tenant's session over the gRPC Pub/Sub API, shaped as
its CometD session is (open, subscribe per channel, iterate messages, close), so the tenant
stream, its checkpoints, gap re-fetches, overflow resyncs and catch-ups serve both.

- Each channel is one Subscribe stream (client.py), from the channel's checkpoint: -1 LATEST,
  -2 EARLIEST, a replay id CUSTOM.
- Messages come out as CometD messages (`{"channel", "data": {"payload", "event"}}`), the
  payload decoded by decode.py, so the normalizer is the same.
- Replay ids are Salesforce's opaque bytes, kept in checkpoints as the integer they spell and
  sent back as REPLAY_ID_BYTES bytes, the width Salesforce's were seen to have. An id of
  another width is refused as corrupted, which the listener answers with a catch-up query
  from the checkpoint's commit time: nothing is lost, only streamed by query once.
- A gRPC error ends the session as a `PubSubFailure` naming its channel, its status and
  Salesforce's `error-code` trailer, for the retry classifier.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import grpc

from connectors.salesforce.auth import Authenticator
from connectors.salesforce.pubsub.client import PubSubClient, Received

REPLAY_ID_BYTES = 10
PRESETS = {-1: "LATEST", -2: "EARLIEST"}


class PubSubFailure(Exception):
    """A Pub/Sub call failed; args[1] names the subscription as CometD's errors do."""

    def __init__(self, channel: str, status: str, error_code: str, details: str) -> None:
        super().__init__(f"{status}: {details}", {"subscription": channel})
        self.channel, self.status, self.error_code = channel, status, error_code


def replay_int(replay_id: bytes) -> int:
    return int.from_bytes(replay_id, "big")


def replay_bytes(replay_id: int) -> bytes:
    return replay_id.to_bytes(max(REPLAY_ID_BYTES, (replay_id.bit_length() + 7) // 8), "big")


class PubSubSession:
    def __init__(
        self,
        authenticator: Authenticator,
        endpoint: str,
        positions: dict[str, int],
        ca: bytes | None = None,
        batch: int = 100,
        pings: tuple[float, float] = (30.0, 20.0),
    ) -> None:
        self._authenticator, self._endpoint, self._ca = authenticator, endpoint, ca
        self._pings = pings
        self.positions, self._batch = positions, batch
        self._queue: asyncio.Queue[dict[str, Any] | PubSubFailure] = asyncio.Queue(batch)
        self._tasks: list[asyncio.Task[None]] = []
        self._client: PubSubClient | None = None

    async def open(self) -> None:
        token = await asyncio.to_thread(self._authenticator.authenticate)
        self._client = PubSubClient(
            self._endpoint,
            token.access_token.get_secret_value(),
            token.instance_url,
            token.org_id,
            ca=self._ca,
            batch=self._batch,
            ping_s=self._pings[0],
            ping_timeout_s=self._pings[1],
        )
        await self._client.__aenter__()

    async def subscribe(self, channel: str) -> None:
        self._tasks.append(asyncio.create_task(self._pump(channel), name=f"pubsub {channel}"))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._client is not None:
            await self._client.__aexit__()

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._messages()

    async def _messages(self) -> AsyncIterator[dict[str, Any]]:
        while True:
            item = await self._queue.get()
            if isinstance(item, PubSubFailure):
                raise item
            yield item

    async def _pump(self, channel: str) -> None:
        """One channel's events into the session's queue (it holds a batch: the stream waits
        while the tenant's Kafka gate holds the reader), or its failure."""
        assert self._client is not None, "open() first"
        position = self.positions.get(channel, -1)
        preset = PRESETS.get(position, "CUSTOM")
        replay_id = b"" if position < 0 else replay_bytes(position)
        try:
            async for received in self._client.events(channel, preset, replay_id):
                await self._queue.put(_message(channel, received))
        except grpc.aio.AioRpcError as e:
            await self._queue.put(_failure(channel, e))
        except Exception as e:  # no failure may end a channel unseen: the session ends with it
            await self._queue.put(PubSubFailure(channel, "UNKNOWN", "", f"{type(e).__name__}: {e}"))


def _message(channel: str, received: Received) -> dict[str, Any]:
    """The CometD message of a received event; an undecodable one carries `decode_error` and
    its bytes (base64), which the tenant stream sends to the DLQ."""
    event = {"replayId": replay_int(received.replay_id)}
    message: dict[str, Any] = {
        "channel": channel,
        "data": {"payload": received.payload, "event": event},
    }
    if received.error is not None:
        message["decode_error"] = received.error
        message["data"]["avro"] = base64.b64encode(received.raw).decode()
        message["data"]["schema_id"] = received.schema_id
    return message


def _failure(channel: str, error: grpc.aio.AioRpcError) -> PubSubFailure:
    trailers = dict(error.trailing_metadata() or ())
    code = str(trailers.get("error-code", ""))
    return PubSubFailure(channel, error.code().name, code, str(error.details() or ""))
