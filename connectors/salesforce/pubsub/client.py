"""A Pub/Sub API subscriber (grpc.aio): change events of one topic, decoded to the CometD form.

- Flow control: a FetchRequest for `batch` events (at most 100) at the start, and another each
  time the server's `pending_num_requested` falls to zero, so the server never holds events
  back and the client never holds more than a batch it has not read.
- Schemas: fetched once per `schema_id` (GetSchema) and kept.
- Keepalive: HTTP/2 pings every `ping_s` seconds, so a half-open connection fails the stream
  within about `ping_s + ping_timeout_s` instead of waiting for TCP.
- Auth: the session's `accesstoken`, `instanceurl` and `tenantid` as call metadata.
https://developer.salesforce.com/docs/platform/pub-sub-api/guide/flow-control.html
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import fastavro
import grpc

from connectors.salesforce.errors import NormalizeError
from connectors.salesforce.pubsub.bitmap import SchemaIndex
from connectors.salesforce.pubsub.decode import cometd_payload
from schemas.pubsub import pubsub_api_pb2 as pb
from schemas.pubsub import pubsub_api_pb2_grpc as pb_grpc

PRESETS = {"LATEST": pb.ReplayPreset.LATEST, "EARLIEST": pb.ReplayPreset.EARLIEST}
PRESETS["CUSTOM"] = pb.ReplayPreset.CUSTOM


@dataclass(frozen=True)
class Received:
    """One change event in the CometD payload form, with its opaque replay id; or, when it
    could not be decoded, why, and the event's own bytes (for the DLQ)."""

    payload: dict[str, Any]
    replay_id: bytes
    error: str | None = None
    raw: bytes = b""
    schema_id: str = ""


@dataclass
class PubSubClient:
    endpoint: str  # host:port
    token: str
    instance_url: str
    tenant_id: str
    ca: bytes | None = None  # PEM roots; None: the system's
    batch: int = 100
    ping_s: float = 30.0
    ping_timeout_s: float = 20.0
    _schemas: dict[str, tuple[SchemaIndex, Any]] = field(default_factory=dict)
    _channel: Any = None

    async def __aenter__(self) -> PubSubClient:
        options = [
            ("grpc.keepalive_time_ms", int(self.ping_s * 1000)),
            ("grpc.keepalive_timeout_ms", int(self.ping_timeout_s * 1000)),
            # gRPC core (1.5x and later) times every ping with this, keepalive's too (default 60 s)
            ("grpc.http2.ping_timeout_ms", int(self.ping_timeout_s * 1000)),
            ("grpc.keepalive_permit_without_calls", 1),
            # gRPC stops pinging after 2 pings with no data between them (its default): a stream
            # quiet for minutes would go unwatched until the server's next keepalive
            ("grpc.http2.max_pings_without_data", 0),
        ]
        credentials = grpc.ssl_channel_credentials(self.ca)
        self._channel = grpc.aio.secure_channel(self.endpoint, credentials, options=options)
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._channel.close()

    @property
    def _stub(self) -> Any:
        return pb_grpc.PubSubStub(self._channel)  # type: ignore[no-untyped-call]

    def _metadata(self) -> tuple[tuple[str, str], ...]:
        return (
            ("accesstoken", self.token),
            ("instanceurl", self.instance_url),
            ("tenantid", self.tenant_id),
        )

    async def schema(self, schema_id: str) -> tuple[SchemaIndex, Any]:
        """The schema's index for decoding and its fastavro form, fetched once per id."""
        if schema_id not in self._schemas:
            request = pb.SchemaRequest(schema_id=schema_id)
            info = await self._stub.GetSchema(request, metadata=self._metadata())
            schema = json.loads(info.schema_json)
            self._schemas[schema_id] = (SchemaIndex.of(schema), fastavro.parse_schema(schema))
        return self._schemas[schema_id]

    async def events(
        self, topic: str, preset: str = "LATEST", replay_id: bytes = b""
    ) -> AsyncIterator[Received]:
        """The topic's events from the preset (CUSTOM: after `replay_id`), for as long as the
        caller reads; gRPC errors (grpc.aio.AioRpcError) end it."""
        asks: asyncio.Queue[Any] = asyncio.Queue()
        first = pb.FetchRequest(
            topic_name=topic,
            replay_preset=PRESETS[preset],
            replay_id=replay_id,
            num_requested=self.batch,
        )
        await asks.put(first)
        call = self._stub.Subscribe(_requests(asks), metadata=self._metadata())
        try:
            async for response in call:
                for event in response.events:
                    yield await self._received(event)
                if response.pending_num_requested == 0:
                    await asks.put(pb.FetchRequest(topic_name=topic, num_requested=self.batch))
        finally:
            call.cancel()

    async def _received(self, event: Any) -> Received:
        schema_id, raw, replay_id = event.event.schema_id, event.event.payload, event.replay_id
        index, parsed = await self.schema(schema_id)
        try:
            record = fastavro.schemaless_reader(io.BytesIO(raw), parsed)
            if not isinstance(record, dict):
                raise NormalizeError(f"the event is {type(record).__name__}, not a record")
            return Received(cometd_payload(record, index), bytes(replay_id))
        except (NormalizeError, ValueError, EOFError, KeyError, TypeError) as e:
            # the event is bad on its own merit: the caller sends it to the DLQ, the stream goes on
            reason = f"undecodable Pub/Sub event: {type(e).__name__}: {e}"[:500]
            return Received({}, bytes(replay_id), reason, bytes(raw), schema_id)


async def _requests(asks: asyncio.Queue[Any]) -> AsyncIterator[Any]:
    while True:
        yield await asks.get()
