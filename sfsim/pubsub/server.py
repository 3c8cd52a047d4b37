"""sfsim's Pub/Sub API server (grpc.aio over TLS): Subscribe, GetSchema and GetTopic.

- Auth: the `accesstoken` metadata must be a live sfsim session; otherwise UNAUTHENTICATED with
  Salesforce's text and its `error-code` trailer.
- Subscribe: the first FetchRequest's `replay_preset` (LATEST, EARLIEST, CUSTOM with
  `replay_id`) places the stream; each FetchRequest adds its `num_requested` to what is pending
  (at most 100 in all); events go out as they come, never more than pending; when nothing is
  pending or nothing comes, an empty FetchResponse with the latest replay id is the keepalive.
- Replay ids are 10 bytes, big-endian, as Salesforce's were seen to be: opaque to clients.
- Faults from the admin API: `drop_connects` ends a stream UNAVAILABLE, `invalid_replay`
  refuses a CUSTOM replay id; expired sessions are refused as Salesforce refuses them.
https://developer.salesforce.com/docs/platform/pub-sub-api/references/methods/subscribe-rpc.html
https://developer.salesforce.com/docs/platform/pub-sub-api/guide/handling-errors.html
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import grpc

from schemas.pubsub import pubsub_api_pb2 as pb
from schemas.pubsub import pubsub_api_pb2_grpc as pb_grpc
from sfsim.eventlog import ALL_CHANGE_EVENTS, ALL_RETAINED, StoredEvent
from sfsim.metadata import ObjectDef
from sfsim.org import ORG_ID
from sfsim.pubsub import avro
from sfsim.server.state import SimState
from sfsim.tls import TlsFiles

MAX_REQUESTED = 100  # "The maximum value for num_requested is 100."
KEEPALIVE_S = 270.0  # "The empty fetch response is sent within 270 seconds."
AUTH_ERROR = (
    "An authentication exception occurred. Provide valid authentication via metadata headers."
)
REPLAY_ERROR = (
    "The Replay ID validation failed. Ensure that the replay_id field value in FetchRequest is "
    "valid and refers to an event that is within the retention window."
)
_CODES = "sfdc.platform.eventbus.grpc."


REPLAY_ID_BYTES = 10
ENCODED_KEPT = 20_000  # events whose Avro bytes are kept for the next stream that serves them


def replay_bytes(replay_id: int) -> bytes:
    return max(replay_id, 0).to_bytes(REPLAY_ID_BYTES, "big")


def replay_int(replay_id: bytes) -> int | None:
    return int.from_bytes(replay_id, "big") if len(replay_id) == REPLAY_ID_BYTES else None


@dataclass
class Schemas:
    """Each object's event schema, built once, and its id; and each event's Avro bytes, encoded
    once for all the streams that carry it (a change of a 500-subscriber burst is served 500
    times)."""

    by_object: dict[str, tuple[str, avro.Shape]] = field(default_factory=dict)
    encoded: OrderedDict[int, tuple[str, bytes]] = field(default_factory=OrderedDict)
    keep: int = ENCODED_KEPT

    def of(self, obj: ObjectDef) -> tuple[str, avro.Shape]:
        if obj.name not in self.by_object:
            schema = avro.event_schema(obj)
            self.by_object[obj.name] = (avro.schema_id(schema), avro.Shape.of(schema))
        return self.by_object[obj.name]

    def by_id(self, schema_id: str) -> dict[str, Any] | None:
        return next((s.schema for i, s in self.by_object.values() if i == schema_id), None)

    def event(self, obj: ObjectDef, event: StoredEvent) -> tuple[str, bytes]:
        """(schema id, Avro bytes) of a stored event."""
        found = self.encoded.get(event.replay_id)
        if found is None:
            schema_id, shape = self.of(obj)
            payload = event.data["payload"]
            found = (schema_id, avro.encode(shape, avro.avro_record(shape, payload)))
            self.encoded[event.replay_id] = found
            if len(self.encoded) > self.keep:
                self.encoded.popitem(last=False)
        return found


class PubSub(pb_grpc.PubSubServicer):
    def __init__(self, state: SimState, keepalive_s: float = KEEPALIVE_S) -> None:
        self.state, self.keepalive_s, self.schemas = state, keepalive_s, Schemas()

    async def GetTopic(self, request: Any, context: Any) -> Any:
        await self._authenticate(context)
        obj = await self._object_of(request.topic_name, context)
        schema_id = self.schemas.of(obj)[0] if obj else ""
        return pb.TopicInfo(
            topic_name=request.topic_name,
            tenant_guid=ORG_ID,
            can_publish=False,
            can_subscribe=True,
            schema_id=schema_id,
            rpc_id=_rpc_id(),
        )

    async def GetSchema(self, request: Any, context: Any) -> Any:
        await self._authenticate(context)
        for obj in self.state.org.schema.objects.values():
            self.schemas.of(obj)  # an id handed out earlier is known after a restart too
        schema = self.schemas.by_id(request.schema_id)
        if schema is None:
            await _abort(context, grpc.StatusCode.NOT_FOUND, "schema.not.found", "no such schema")
        return pb.SchemaInfo(
            schema_json=json.dumps(schema), schema_id=request.schema_id, rpc_id=_rpc_id()
        )

    async def Subscribe(self, requests: AsyncIterator[Any], context: Any) -> AsyncIterator[Any]:
        # the first request is read before any refusal: a client whose send is still under
        # way when the call ends sees its own INTERNAL error instead of the server's status
        first = await anext(requests, None)
        await self._authenticate(context)
        if first is None:
            return
        await self._object_of(first.topic_name, context)
        stream = Stream(first.topic_name, await self._start(first, context))
        stream.ask(await _requested(first, context))
        reader = asyncio.create_task(self._read(requests, stream, context))
        self.state.pubsub_streams += 1
        try:
            while True:
                yield await self._next_response(stream, context)
        finally:
            self.state.pubsub_streams -= 1
            reader.cancel()

    # --- the stream -------------------------------------------------------------------------

    async def _start(self, first: Any, context: Any) -> int:
        log = self.state.log
        if first.replay_preset == pb.ReplayPreset.LATEST:
            return log.last_replay_id
        if first.replay_preset == pb.ReplayPreset.EARLIEST:
            return log.start_position(ALL_RETAINED)
        replay_id = replay_int(first.replay_id)
        if replay_id is None and not first.replay_id:
            await _abort(
                context, INVALID, "subscription.fetch.replayid.validation.failed", REPLAY_ERROR
            )
        if (
            replay_id is None
            or not log.is_replayable(replay_id)
            or self.state.faults.invalid_replay
        ):
            await _abort(context, INVALID, "subscription.fetch.replayid.corrupted", REPLAY_ERROR)
        assert replay_id is not None  # aborted above
        return replay_id

    async def _read(self, requests: AsyncIterator[Any], stream: Stream, context: Any) -> None:
        async for request in requests:
            stream.ask(await _requested(request, context))

    async def _next_response(self, stream: Stream, context: Any) -> Any:
        log = self.state.log
        deadline = asyncio.get_running_loop().time() + self.keepalive_s
        while True:
            if self.state.faults.take_drop():
                await _abort(
                    context, grpc.StatusCode.UNAVAILABLE, "service.unavailable", "stream dropped"
                )
            events = (
                log.after(stream.position, stream.topic, stream.pending) if stream.pending else []
            )
            if events:
                return self._response(stream, events)
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return pb.FetchResponse(
                    latest_replay_id=replay_bytes(log.last_replay_id),
                    rpc_id=_rpc_id(),
                    pending_num_requested=stream.pending,
                )
            await stream.wait(log, left)

    def _response(self, stream: Stream, events: list[StoredEvent]) -> Any:
        stream.position = events[-1].replay_id
        stream.pending -= len(events)
        self.state.limits.events_delivered += len(events)
        return pb.FetchResponse(
            events=[self._consumer_event(e) for e in events],
            latest_replay_id=replay_bytes(events[-1].replay_id),
            rpc_id=_rpc_id(),
            pending_num_requested=stream.pending,
        )

    def _consumer_event(self, event: StoredEvent) -> Any:
        entity = event.data["payload"]["ChangeEventHeader"]["entityName"]
        schema_id, body = self.schemas.event(self.state.org.schema.objects[entity], event)
        return pb.ConsumerEvent(
            event=pb.ProducerEvent(id=str(uuid.uuid4()), schema_id=schema_id, payload=body),
            replay_id=replay_bytes(event.replay_id),
        )

    # --- checks -----------------------------------------------------------------------------

    async def _authenticate(self, context: Any) -> None:
        metadata = dict(context.invocation_metadata() or ())
        if self.state.identity.session(str(metadata.get("accesstoken", ""))) is None:
            await _abort(context, grpc.StatusCode.UNAUTHENTICATED, "service.auth.error", AUTH_ERROR)

    async def _object_of(self, topic: str, context: Any) -> ObjectDef | None:
        """The object of `/data/<Object>ChangeEvent`; None for `/data/ChangeEvents`."""
        if topic == ALL_CHANGE_EVENTS:
            return None
        for obj in self.state.org.schema.objects.values():
            if topic == f"/data/{obj.change_event_name}":
                return obj
        text = (
            f"The topic information for org {ORG_ID} and topic {topic} not found. "
            "Ensure the topic name is correct and that the topic exists."
        )
        await _abort(context, grpc.StatusCode.NOT_FOUND, "topic.not.found", text)
        return None


INVALID = grpc.StatusCode.INVALID_ARGUMENT


@dataclass
class Stream:
    topic: str
    position: int  # the replay id after which the next event comes
    pending: int = 0
    _asked: asyncio.Event = field(default_factory=asyncio.Event)

    def ask(self, requested: int) -> None:
        self.pending = min(MAX_REQUESTED, self.pending + requested)
        self._asked.set()

    async def wait(self, log: Any, timeout: float) -> None:
        """Until the log grows or more is requested, or the timeout."""
        self._asked = asyncio.Event()
        grown = asyncio.ensure_future(log.wait(timeout))
        asked = asyncio.ensure_future(self._asked.wait())
        try:
            await asyncio.wait([grown, asked], return_when=asyncio.FIRST_COMPLETED)
        finally:
            grown.cancel()
            asked.cancel()


async def _requested(request: Any, context: Any) -> int:
    if request.num_requested <= 0:
        text = "The requested number of events in a fetch request must be greater than zero"
        await _abort(context, INVALID, "subscription.fetch.requested.events.invalid", text)
    return int(request.num_requested)


async def _abort(context: Any, code: grpc.StatusCode, error_code: str, text: str) -> None:
    rpc_id = _rpc_id()
    trailers = (("error-code", _CODES + error_code), ("rpcid", rpc_id))
    await context.abort(code, f"{text} rpcId: {rpc_id}", trailing_metadata=trailers)


def _rpc_id() -> str:
    return str(uuid.uuid4())


async def serve(
    state: SimState, tls: TlsFiles, host: str, port: int, keepalive_s: float = KEEPALIVE_S
) -> grpc.aio.Server:
    """Start the Pub/Sub server on `host:port` over sfsim's TLS certificate."""
    # clients ping every 30 s or so to notice a half-open connection (the listener does)
    options = [
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_recv_ping_interval_without_data_ms", 5_000),
        ("grpc.http2.max_ping_strikes", 0),
    ]
    server = grpc.aio.server(options=options)
    pb_grpc.add_PubSubServicer_to_server(PubSub(state, keepalive_s), server)  # type: ignore[no-untyped-call]
    credentials = grpc.ssl_server_credentials([(tls.key.read_bytes(), tls.cert.read_bytes())])
    server.add_secure_port(f"{host}:{port}", credentials)
    await server.start()
    return server
