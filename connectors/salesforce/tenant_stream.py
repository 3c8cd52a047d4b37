"""One tenant's Change Data Capture subscription: CometD in, `sf.changes` out, checkpoints after
the broker's acknowledgement, and every failure turned into a decision (classifier.py).

A failed session is retried after a capped exponential backoff with jitter (a Salesforce outage
of minutes costs a few calls a minute, not one a second), always from the checkpoints, so what
the failed session received but Kafka had not acknowledged is received again. While Kafka does
not acknowledge, the stream takes no events at all (kafka_gate.py).

A session subscribes to each synced object's channel from its checkpoint. Gap events are
resolved by re-reading the records, GAP_OVERFLOW by resyncing the object since the event's
commit time, a replay id past retention by a catch-up query since the last checkpointed commit
time (after the new subscription is live, so nothing falls between the two).
https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_replay.htm
"""

from __future__ import annotations

import asyncio
import json
import random
import ssl
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from aiosfstream_ng.client import ReplayMarkerStoragePolicy
from aiosfstream_ng.exceptions import AiosfstreamException, AuthenticationError, ServerError

from connectors.backoff import backoff
from connectors.kafka.failures import KafkaFailure
from connectors.kafka.failures import classify as kafka_failure
from connectors.kafka.producer import AsyncProducer, DeliveryFailed
from connectors.salesforce.auth import Authenticator
from connectors.salesforce.checkpoints import ChannelCheckpointer, Checkpoint
from connectors.salesforce.classifier import Decision, Failure, classify, oauth_failure
from connectors.salesforce.describes import Describes, SchemaPublisher
from connectors.salesforce.errors import NormalizeError, SalesforceApiError
from connectors.salesforce.kafka_gate import KafkaGate, KafkaUnacknowledged, refusal
from connectors.salesforce.normalizer import Gap, Overflow, normalize
from connectors.salesforce.orgapi import OrgApi
from connectors.salesforce.pubsub.transport import PubSubFailure, PubSubSession
from connectors.salesforce.snapshots import missing_change, row_change, sf_text
from connectors.salesforce.streaming import (
    CheckpointReplay,
    StreamingAuthenticator,
    StreamingClient,
)
from connectors.telemetry.metrics import (
    CONFIG_PROBLEMS,
    DLQ_MESSAGES,
    MESSAGES_IN,
    MESSAGES_OUT,
    RETRIES,
    SUBSCRIPTION_UP,
)
from schemas.changes import ChangeSource, SalesforceChange
from schemas.contract import DeadLetter, Topics
from schemas.org_check import check_against_org
from schemas.tenant import TenantConfig

ALL_RETAINED = -2
DLQ_ORIGINAL_BYTES = 64 * 1024  # of a change Kafka refused, kept in its dead letter


def channel_of(obj: str) -> str:
    """`/data/AccountChangeEvent`; custom `Invoice__c` -> `/data/Invoice__ChangeEvent`."""
    return f"/data/{obj[:-3]}__ChangeEvent" if obj.endswith("__c") else f"/data/{obj}ChangeEvent"


@dataclass
class StreamDeps:
    producer: AsyncProducer
    authenticator: Authenticator
    orgapi: OrgApi
    ssl_context: ssl.SSLContext | None
    checkpoints: dict[str, Checkpoint]
    topics: Topics
    now: Callable[[], float]  # monotonic seconds: checkpoint intervals
    clock: Callable[[], datetime]  # wall time: when a describe was read
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    checkpoint_interval: float = 1.0
    connection_timeout: float = 60.0
    max_in_flight: int = 5_000  # unacknowledged events per channel before it waits for Kafka
    ack_timeout: float = 30.0  # seconds a change may wait for Kafka before the stream stops
    retry_base: float = 1.0  # the first wait after a failed session; doubles per failure in a row
    retry_cap: float = 60.0  # ... up to this; also the wait for Kafka's probes
    healthy_after: float = 60.0  # a session subscribed this long resets the backoff
    quota_backoff: float = 60.0  # the org's daily allocation is spent: wait this long
    random: Callable[[], float] = field(default_factory=lambda: random.Random().random)
    pubsub_ca: bytes | None = None  # PEM roots for the Pub/Sub API (None: the system's)
    pubsub_pings: tuple[float, float] = (30.0, 20.0)  # HTTP/2 ping interval and timeout, s


@dataclass
class TenantStream:
    config: TenantConfig
    deps: StreamDeps
    _catch_up: dict[str, int] = field(default_factory=dict)  # channel -> commit ts to query from
    _checkpointers: dict[str, ChannelCheckpointer] = field(default_factory=dict)
    _described: bool = False
    _failures: int = 0  # failed sessions in a row
    _subscribed_at: float | None = None
    _replay: CheckpointReplay | None = None

    def __post_init__(self) -> None:
        self.log = structlog.get_logger(__name__).bind(tenant=self.config.tenant)
        # the tenant's counters, looked up once (a labels() lookup per event showed in profiles)
        self.messages_in = MESSAGES_IN.labels("listener", self.config.tenant)
        self.messages_out = MESSAGES_OUT.labels("listener", self.config.tenant)
        self.schemas = SchemaPublisher(
            self.config.tenant,
            self.deps.orgapi,
            self.deps.producer,
            self.deps.topics.sf_schemas,
            self.deps.clock,
            self.log,
            ack_timeout=self.deps.ack_timeout,
        )
        self.channels = {channel_of(o): o for o in self.config.synced_objects()}
        self.kafka = KafkaGate(
            self.config.tenant,
            self.log,
            self.deps.now,
            self.deps.sleep,
            self.deps.max_in_flight,
            self.deps.ack_timeout,
            self.deps.retry_base,
            self.deps.retry_cap,
            self.deps.random,
        )
        for channel in self.channels:
            self._checkpointers[channel] = ChannelCheckpointer(
                self.config.tenant,
                channel,
                self._write_checkpoint,
                self.deps.now,
                self.deps.checkpoint_interval,
                self.config.salesforce.transport,
            )

    def successor(self, deps: StreamDeps) -> TenantStream:
        """A new stream of the same tenant that resumes from the checkpoints this one saved
        (`deps.checkpoints`) and still runs the catch-ups it had planned but not run."""
        return TenantStream(self.config, deps, _catch_up=dict(self._catch_up))

    # --- the loop of sessions -------------------------------------------------------------------

    async def run(self) -> None:
        """Sessions until cancelled; each failure is classified and acted on."""
        try:
            while True:
                try:
                    await self._session()
                except KafkaUnacknowledged as e:
                    await self.kafka.wait(e, list(self._checkpointers.values()), self._probe)
                except (AiosfstreamException, SalesforceApiError, PubSubFailure) as e:
                    if not await self._recover(e):
                        return
        finally:
            await self._drain()

    async def _recover(self, error: Exception) -> bool:
        decision = _decide(error)
        delay = self._retry_delay(decision)
        RETRIES.labels("listener", decision.value).inc()
        self.log.warning(
            "subscription interrupted",
            decision=decision.value,
            error=_describe(error),
            failures_in_row=self._failures,
            retry_in=round(delay, 2),
        )
        if decision in (Decision.CONFIG_ERROR, Decision.FATAL):
            self.log.error(
                "tenant stopped; fix the tenant config and apply it again",
                decision=decision.value,
                error=_describe(error),
            )
            return False
        if decision is Decision.CATCH_UP:
            self._plan_catch_up(error)
        await self.deps.sleep(delay)
        return True

    def _retry_delay(self, decision: Decision) -> float:
        """Capped exponential backoff over the failures in a row; a session that stayed
        subscribed `healthy_after` seconds starts the count again."""
        since = self._subscribed_at
        healthy = since is not None and self.deps.now() - since >= self.deps.healthy_after
        self._failures = 1 if healthy else self._failures + 1
        self._subscribed_at = None
        if decision is Decision.BACKOFF:
            return self.deps.quota_backoff
        return backoff(
            self._failures, self.deps.retry_base, self.deps.retry_cap, self.deps.random()
        )

    def _plan_catch_up(self, error: Exception) -> None:
        channel = _subscription_of(error)
        for name in [channel] if channel in self.channels else list(self.channels):
            checkpointer = self._checkpointers[name]
            checkpointer.forget_unacknowledged()  # nothing in flight may bring the old id back
            saved = self._saved(checkpointer)
            self.deps.checkpoints.pop(checkpointer.key, None)
            checkpointer.acknowledged = None
            if saved is not None:
                self._catch_up[name] = saved.commit_ts

    async def _session(self) -> None:
        if not self._described:
            await self._describe()
        client = self._client()
        await client.open()
        try:
            for channel in self.channels:
                await client.subscribe(channel)
            self.log.info("subscribed", channels=sorted(self.channels))
            SUBSCRIPTION_UP.labels(self.config.tenant).set(1)
            self._subscribed_at = self.deps.now()
            await self._run_catch_ups()
            await _first_of(self._read(client), self._tick())
        finally:
            SUBSCRIPTION_UP.labels(self.config.tenant).set(0)
            await client.close()

    async def _read(self, client: StreamingClient | PubSubSession) -> None:
        async for message in client:
            await self._handle(message)

    async def _describe(self) -> None:
        """Each synced object's types on `sf.schemas` before the first change of it."""
        try:
            describes = await self.schemas.publish_all(self.config.synced_objects())
        except SalesforceApiError as e:
            _raise_kafkas(e)
            raise
        self._check_config(describes)
        self._described = True

    async def _ensure_schemas(self, changes: list[SalesforceChange]) -> None:
        try:
            await self.schemas.ensure(changes)
        except SalesforceApiError as e:
            _raise_kafkas(e)
            raise

    def _check_config(self, describes: Describes) -> None:
        """What the tenant config names that the org lacks or cannot compare as asked (a config
        applied without the CLI's org check): each logged with its path, and counted. The
        stream runs on; a missing object stops it at subscribe, as a config error."""
        problems = check_against_org(self.config, describes)
        for problem in problems:
            self.log.warning(
                "tenant config does not fit the org", path=problem.path, problem=problem.message
            )
        CONFIG_PROBLEMS.labels(self.config.tenant).set(len(problems))

    async def _tick(self) -> None:
        """Checkpoints also move while no new event arrives, the session's replay positions with
        them (a handshake the CometD client makes by itself resumes from there), and a tenant
        whose changes Kafka stopped acknowledging stops even when no new event comes."""
        while True:
            await asyncio.sleep(self.deps.checkpoint_interval)
            self.kafka.check(self._checkpointers.values())
            for channel, checkpointer in self._checkpointers.items():
                if checkpointer.acknowledged is not None and self._replay is not None:
                    self._replay.positions[channel] = checkpointer.acknowledged.replay_id

    def _positions(self) -> dict[str, int]:
        """Where each channel resumes: the newest acknowledged change, else the stored
        checkpoint. A channel with neither has never been streamed: it starts with new events,
        and a marker checkpoint (replay id -2) is written at once, so any later session, here or
        on the replica that takes the tenant over, replays all retained events instead of losing
        those of the gap (found by the replica test). Its history is the backfill's; when the
        tenant already streamed other channels, the object was added to its config, and the
        session loads its existing records by query once it is subscribed."""
        positions = {}
        for checkpointer in self._checkpointers.values():
            checkpointer.forget_unacknowledged()  # the last session's sends: received again
        streamed = any(self._saved(c) is not None for c in self._checkpointers.values())
        transport = self.config.salesforce.transport
        for channel, checkpointer in self._checkpointers.items():
            saved = self._saved(checkpointer)
            if saved is not None and saved.replays_on(transport):
                positions[channel] = saved.replay_id
            elif saved is not None:
                # the other transport's replay id means nothing here: the query bridges them
                self.log.info("transport changed: catching up by query", channel=channel)
                self._catch_up[channel] = saved.commit_ts
            elif channel not in self._catch_up:
                self._write_checkpoint(checkpointer.key, Checkpoint(ALL_RETAINED, 0))
                if streamed:
                    self.log.info("object added to the config: loading it", channel=channel)
                    self._catch_up[channel] = 0
        return positions

    def _saved(self, checkpointer: ChannelCheckpointer) -> Checkpoint | None:
        return checkpointer.acknowledged or self.deps.checkpoints.get(checkpointer.key)

    def _client(self) -> StreamingClient | PubSubSession:
        self._replay = CheckpointReplay(self._positions())
        connection = self.config.salesforce
        if connection.transport == "pubsub":
            return PubSubSession(
                self.deps.authenticator,
                connection.pubsub_endpoint,
                self._replay.positions,
                ca=self.deps.pubsub_ca,
                pings=self.deps.pubsub_pings,
            )
        client = StreamingClient(
            StreamingAuthenticator(self.deps.authenticator),
            replay=self._replay,
            replay_storage_policy=ReplayMarkerStoragePolicy.MANUAL,
            connection_timeout=self.deps.connection_timeout,
        )
        client.ssl = self.deps.ssl_context
        return client

    # --- one message ---------------------------------------------------------------------------

    async def _handle(self, message: dict[str, Any]) -> None:
        self.messages_in.inc()
        channel = str(message.get("channel"))
        if "decode_error" in message:  # a Pub/Sub event that is bad on its own merit
            await self._dead_letter(message, str(message["decode_error"]))
            return
        try:
            result = normalize(self.config.tenant, message)
        except NormalizeError as e:
            await self._dead_letter(message, str(e))
            return
        if isinstance(result, Gap):
            changes = await asyncio.to_thread(self._refetch, result)
            replay_id, commit_ts = result.replay_id, result.version.commit_ts
        elif isinstance(result, Overflow):
            changes = await asyncio.to_thread(self._resync, result.object, result.version.commit_ts)
            replay_id, commit_ts = result.replay_id, result.version.commit_ts
        else:
            changes = result
            replay_id, commit_ts = int(result[0].replay_id or 0), result[0].version.commit_ts
        await self._publish(channel, changes, replay_id, commit_ts)

    async def _publish(
        self, channel: str, changes: list[SalesforceChange], replay_id: int, commit_ts: int
    ) -> None:
        await self._ensure_schemas(changes)
        futures = self._send(changes)
        self.messages_out.inc(len(futures))
        checkpointer = self._checkpointers.get(channel)
        if checkpointer is None:
            return
        checkpointer.track(replay_id, commit_ts, _all(futures))
        await self.kafka.keep_up(checkpointer)  # the next event only while Kafka keeps up

    def _send(self, changes: list[SalesforceChange]) -> list[asyncio.Future[Any]]:
        topic = self.deps.topics.sf_changes
        sent: list[asyncio.Future[Any]] = []
        for change in changes:
            value = change.model_dump_json().encode()
            future = self.deps.producer.send(topic, change.key, value)
            sent.append(asyncio.ensure_future(self._or_dead_letter(change.key, value, future)))
        return sent

    async def _or_dead_letter(self, key: str, value: bytes, sent: Awaitable[Any]) -> Any:
        """The broker's acknowledgement. When it refuses the change itself (too large for the
        topic), the change is sent once more on its own (it may only have shared a batch with
        a larger one), and if refused again its dead letter is sent instead, so the checkpoint
        moves past it and the stream does not restart on it forever. Any other failure is
        raised as it was."""
        topic = self.deps.topics.sf_changes
        try:
            return await sent
        except DeliveryFailed as e:
            if kafka_failure(e.error).failure is not KafkaFailure.BAD_MESSAGE:
                raise
        try:
            return await self.deps.producer.send_alone(topic, key, value)
        except DeliveryFailed as e:
            verdict = kafka_failure(e.error)
            if verdict.failure is not KafkaFailure.BAD_MESSAGE:
                raise
            reason = f"refused by Kafka ({verdict.reason}): {e}"
        self.log.warning("change sent to the DLQ", key=key, reason=reason)
        DLQ_MESSAGES.labels("listener", self.config.tenant).inc()
        letter = DeadLetter.of("listener.publish", reason, value[:DLQ_ORIGINAL_BYTES])
        topic = self.deps.topics.dlq(self.deps.topics.sf_changes)
        return await self.deps.producer.send(topic, key, letter.encode())

    async def _dead_letter(self, message: dict[str, Any], reason: str) -> None:
        """The raw message and why it failed, keyed by the tenant (its record is unknown)."""
        letter = DeadLetter.of("listener.normalize", reason, json.dumps(message, default=str))
        self.log.warning("malformed change event sent to the DLQ", reason=reason)
        DLQ_MESSAGES.labels("listener", self.config.tenant).inc()
        topic = self.deps.topics.dlq(self.deps.topics.sf_changes)
        await self._acknowledged(
            self.deps.producer.send(topic, self.config.tenant, letter.encode())
        )

    async def _acknowledged(self, sent: Awaitable[Any]) -> None:
        """A send the stream waits for (a dead letter, a catch-up): as long as `ack_timeout`."""
        try:
            await asyncio.wait_for(sent, self.deps.ack_timeout)
        except TimeoutError as e:
            raise KafkaUnacknowledged(f"no acknowledgement in {self.deps.ack_timeout} s") from e
        except DeliveryFailed as e:
            raise refusal(e) from e

    # --- REST reads ----------------------------------------------------------------------------

    def _refetch(self, gap: Gap) -> list[SalesforceChange]:
        rows = {
            r["Id"]: r for r in self.deps.orgapi.records_by_id(gap.object, list(gap.record_ids))
        }
        self.log.info(
            "gap event re-fetched", object=gap.object, records=len(gap.record_ids), why=gap.reason
        )
        return [
            row_change(gap.tenant, gap.object, rows[i], ChangeSource.GAP_REFETCH)
            if i in rows
            else missing_change(gap.tenant, gap.object, i, gap.version)
            for i in gap.record_ids
        ]

    def _resync(self, obj: str, since_ms: int) -> list[SalesforceChange]:
        rows = self.deps.orgapi.changed_since(obj, sf_text(since_ms))
        self.log.info("object resynced", object=obj, since=sf_text(since_ms), records=len(rows))
        return [row_change(self.config.tenant, obj, r, ChangeSource.RESYNC) for r in rows]

    async def _run_catch_ups(self) -> None:
        for channel, since in list(self._catch_up.items()):
            changes = await asyncio.to_thread(self._resync, self.channels[channel], since)
            await self._ensure_schemas(changes)
            futures = self._send(changes)
            await self._acknowledged(asyncio.gather(*futures))
            self.messages_out.inc(len(futures))  # a catch-up's changes count as the stream's
            del self._catch_up[channel]
            self.log.info("caught up by query", channel=channel, changes=len(changes))

    # --- checkpoints ---------------------------------------------------------------------------

    def _write_checkpoint(self, key: str, checkpoint: Checkpoint) -> asyncio.Future[Any]:
        self.deps.checkpoints[key] = checkpoint
        return self.deps.producer.send(self.deps.topics.sf_checkpoints, key, checkpoint.encode())

    def _probe(self) -> asyncio.Future[Any] | None:
        """A send whose acknowledgement shows Kafka is back: a saved checkpoint written again
        (the same value, so it moves nothing); None when the tenant has none yet."""
        for checkpointer in self._checkpointers.values():
            if (saved := self._saved(checkpointer)) is not None:
                return self._write_checkpoint(checkpointer.key, saved)
        return None

    async def _drain(self) -> None:
        """On the way out: wait for what is in flight, then write the final checkpoints."""
        await self.deps.producer.flush(self._drain_timeout())
        await asyncio.sleep(0)
        for checkpointer in self._checkpointers.values():
            checkpointer.advance(force=True)
        await self.deps.producer.flush(self._drain_timeout())

    def _drain_timeout(self) -> float:
        """30 s while Kafka keeps acknowledging. None while it does not (the stream is waiting
        for it, or a send has gone a second unacknowledged): what is in flight is received again
        from the checkpoints by whoever runs the tenant next, and waiting would only hold up who
        stops the tenant; a rebalance's revoke waited 60 s here while the broker was away."""
        late = any(c.waiting_for() > 1.0 for c in self._checkpointers.values())
        return 0.0 if self.kafka.waiting or late else 30.0


async def _first_of(*work: Coroutine[Any, Any, None]) -> None:
    """Run together until the first ends (or raises, which is raised here); the others are
    cancelled and awaited."""
    tasks = [asyncio.create_task(w) for w in work]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        task.result()


def _raise_kafkas(error: SalesforceApiError) -> None:
    """A types publish that Kafka did not take (describes.py wraps it) is Kafka's failure."""
    if isinstance(error.__cause__, DeliveryFailed):
        raise refusal(error.__cause__) from error


def _all(futures: list[asyncio.Future[Any]]) -> asyncio.Future[Any]:
    """One future for an event's sends (the checkpoint only needs done or failed): most events
    are one change, whose future serves as it is, without a gather per event."""
    if len(futures) == 1:
        return futures[0]
    if not futures:
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        done.set_result([])
        return done
    return asyncio.gather(*futures)


def _decide(error: Exception) -> Decision:
    if isinstance(error, SalesforceApiError):
        return Decision(error.decision)
    if isinstance(error, PubSubFailure):
        return classify(Failure(grpc_status=error.status, grpc_error_code=error.error_code))
    if isinstance(error, ServerError) and error.error:
        return classify(Failure(bayeux=str(error.error)))
    if isinstance(error, AuthenticationError):
        # Our StreamingAuthenticator's refusal: the token endpoint's error code or status.
        response = error.args[1] if len(error.args) > 1 and isinstance(error.args[1], dict) else {}
        if text := str(response.get("error_description", "")):
            return classify(oauth_failure(text))
    return classify(Failure(network=True))


def _subscription_of(error: Exception) -> str | None:
    response = error.args[1] if len(error.args) > 1 and isinstance(error.args[1], dict) else {}
    return response.get("subscription")


def _describe(error: Exception) -> str:
    if isinstance(error, ServerError):
        return str(error.error)
    return f"{type(error).__name__}: {error}"[:300]
