"""One tenant's Change Data Capture subscription: CometD in, `sf.changes` out, checkpoints after
the broker's acknowledgement, and every failure turned into a decision (classifier.py).

A session subscribes to each synced object's channel from its checkpoint. Gap events are
resolved by re-reading the records, GAP_OVERFLOW by resyncing the object since the event's
commit time, a replay id past retention by a catch-up query since the last checkpointed commit
time (after the new subscription is live, so nothing falls between the two).
https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_replay.htm
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from aiosfstream_ng.client import ReplayMarkerStoragePolicy
from aiosfstream_ng.exceptions import AiosfstreamException, ServerError

from connectors.kafka.producer import AsyncProducer
from connectors.salesforce.auth import Authenticator
from connectors.salesforce.checkpoints import ChannelCheckpointer, Checkpoint
from connectors.salesforce.classifier import Decision, Failure, classify
from connectors.salesforce.describes import Describes, SchemaPublisher
from connectors.salesforce.errors import NormalizeError, SalesforceApiError
from connectors.salesforce.normalizer import Gap, Overflow, normalize
from connectors.salesforce.orgapi import OrgApi
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
    SUBSCRIPTION_UP,
)
from schemas.changes import ChangeSource, SalesforceChange
from schemas.contract import DeadLetter, Topics
from schemas.org_check import check_against_org
from schemas.tenant import TenantConfig

ALL_RETAINED = -2
RESUBSCRIBE_DELAY = 1.0
BACKOFF_DELAY = 60.0


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
    max_in_flight: int = 5_000


@dataclass
class TenantStream:
    config: TenantConfig
    deps: StreamDeps
    received: int = 0
    published: int = 0
    _catch_up: dict[str, int] = field(default_factory=dict)  # channel -> commit ts to query from
    _checkpointers: dict[str, ChannelCheckpointer] = field(default_factory=dict)
    _described: bool = False

    def __post_init__(self) -> None:
        self.log = structlog.get_logger(__name__).bind(tenant=self.config.tenant)
        self.schemas = SchemaPublisher(
            self.config.tenant,
            self.deps.orgapi,
            self.deps.producer,
            self.deps.topics.sf_schemas,
            self.deps.clock,
            self.log,
        )
        self.channels = {channel_of(o): o for o in self.config.synced_objects()}
        for channel in self.channels:
            self._checkpointers[channel] = ChannelCheckpointer(
                self.config.tenant,
                channel,
                self._write_checkpoint,
                self.deps.now,
                self.deps.checkpoint_interval,
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
                except (AiosfstreamException, SalesforceApiError) as e:
                    if not await self._recover(e):
                        return
        finally:
            await self._drain()

    async def _recover(self, error: Exception) -> bool:
        decision = _decide(error)
        self.log.warning(
            "subscription interrupted", decision=decision.value, error=_describe(error)
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
        delay = BACKOFF_DELAY if decision is Decision.BACKOFF else RESUBSCRIBE_DELAY
        await self.deps.sleep(delay)
        return True

    def _plan_catch_up(self, error: Exception) -> None:
        channel = _subscription_of(error)
        for name in [channel] if channel in self.channels else list(self.channels):
            checkpointer = self._checkpointers[name]
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
        ticker = asyncio.create_task(self._tick())
        try:
            for channel in self.channels:
                await client.subscribe(channel)
            self.log.info("subscribed", channels=sorted(self.channels))
            SUBSCRIPTION_UP.labels(self.config.tenant).set(1)
            await self._run_catch_ups()
            async for message in client:
                await self._handle(message)
        finally:
            SUBSCRIPTION_UP.labels(self.config.tenant).set(0)
            ticker.cancel()
            await client.close()

    async def _describe(self) -> None:
        """Each synced object's types on `sf.schemas` before the first change of it."""
        describes = await self.schemas.publish_all(self.config.synced_objects())
        self._check_config(describes)
        self._described = True

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
        """Checkpoints also move while no new event arrives."""
        while True:
            await asyncio.sleep(self.deps.checkpoint_interval)
            for checkpointer in self._checkpointers.values():
                checkpointer.advance()

    def _positions(self) -> dict[str, int]:
        """Where each channel resumes: the newest acknowledged change, else the stored
        checkpoint. A channel with neither has never been streamed: it starts with new events,
        and a marker checkpoint (replay id -2) is written at once, so any later session, here or
        on the replica that takes the tenant over, replays all retained events instead of losing
        those of the gap (found by the replica test). Its history is the backfill's; when the
        tenant already streamed other channels, the object was added to its config, and the
        session loads its existing records by query once it is subscribed."""
        positions = {}
        streamed = any(self._saved(c) is not None for c in self._checkpointers.values())
        for channel, checkpointer in self._checkpointers.items():
            saved = self._saved(checkpointer)
            if saved is not None:
                positions[channel] = saved.replay_id
            elif channel not in self._catch_up:
                self._write_checkpoint(checkpointer.key, Checkpoint(ALL_RETAINED, 0))
                if streamed:
                    self.log.info("object added to the config: loading it", channel=channel)
                    self._catch_up[channel] = 0
        return positions

    def _saved(self, checkpointer: ChannelCheckpointer) -> Checkpoint | None:
        return checkpointer.acknowledged or self.deps.checkpoints.get(checkpointer.key)

    def _client(self) -> StreamingClient:
        positions = self._positions()
        client = StreamingClient(
            StreamingAuthenticator(self.deps.authenticator),
            replay=CheckpointReplay(positions),
            replay_storage_policy=ReplayMarkerStoragePolicy.MANUAL,
            connection_timeout=self.deps.connection_timeout,
        )
        client.ssl = self.deps.ssl_context
        return client

    # --- one message ---------------------------------------------------------------------------

    async def _handle(self, message: dict[str, Any]) -> None:
        self.received += 1
        MESSAGES_IN.labels("listener", self.config.tenant).inc()
        channel = str(message.get("channel"))
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
        await self.schemas.ensure(changes)
        futures = self._send(changes)
        self.published += len(futures)
        MESSAGES_OUT.labels("listener", self.config.tenant).inc(len(futures))
        checkpointer = self._checkpointers.get(channel)
        if checkpointer is None:
            return
        checkpointer.track(replay_id, commit_ts, _all(futures))
        checkpointer.advance()
        if checkpointer.in_flight > self.deps.max_in_flight:
            await asyncio.sleep(0)  # let delivery reports land before taking more
        if (error := checkpointer.failed()) is not None:
            raise SalesforceApiError(f"Kafka refused a change: {error}", Decision.RETRY)

    def _send(self, changes: list[SalesforceChange]) -> list[asyncio.Future[Any]]:
        topic = self.deps.topics.sf_changes
        return [
            self.deps.producer.send(topic, c.key, c.model_dump_json().encode()) for c in changes
        ]

    async def _dead_letter(self, message: dict[str, Any], reason: str) -> None:
        """The raw message and why it failed, keyed by the tenant (its record is unknown)."""
        letter = DeadLetter.of("listener.normalize", reason, json.dumps(message, default=str))
        self.log.warning("malformed change event sent to the DLQ", reason=reason)
        DLQ_MESSAGES.labels("listener", self.config.tenant).inc()
        topic = self.deps.topics.dlq(self.deps.topics.sf_changes)
        await self.deps.producer.send(topic, self.config.tenant, letter.encode())

    # --- REST reads ----------------------------------------------------------------------------

    def _refetch(self, gap: Gap) -> list[SalesforceChange]:
        rows = {
            r["Id"]: r for r in self.deps.orgapi.records_by_id(gap.object, list(gap.record_ids))
        }
        self.log.info("gap event re-fetched", object=gap.object, records=len(gap.record_ids))
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
            await self.schemas.ensure(changes)
            futures = self._send(changes)
            await asyncio.gather(*futures)
            self.published += len(futures)
            del self._catch_up[channel]
            self.log.info("caught up by query", channel=channel, changes=len(changes))

    # --- checkpoints ---------------------------------------------------------------------------

    def _write_checkpoint(self, key: str, checkpoint: Checkpoint) -> None:
        self.deps.checkpoints[key] = checkpoint
        self.deps.producer.send(self.deps.topics.sf_checkpoints, key, checkpoint.encode())

    async def _drain(self) -> None:
        """On the way out: wait for what is in flight, then write the final checkpoints."""
        await self.deps.producer.flush()
        await asyncio.sleep(0)
        for checkpointer in self._checkpointers.values():
            checkpointer.advance(force=True)
        await self.deps.producer.flush()


def _all(futures: list[asyncio.Future[Any]]) -> asyncio.Future[Any]:
    if not futures:
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        done.set_result([])
        return done
    return asyncio.gather(*futures)


def _decide(error: Exception) -> Decision:
    if isinstance(error, SalesforceApiError):
        return Decision(error.decision)
    if isinstance(error, ServerError) and error.error:
        return classify(Failure(bayeux=str(error.error)))
    return classify(Failure(network=True))


def _subscription_of(error: Exception) -> str | None:
    response = error.args[1] if len(error.args) > 1 and isinstance(error.args[1], dict) else {}
    return response.get("subscription")


def _describe(error: Exception) -> str:
    if isinstance(error, ServerError):
        return str(error.error)
    return f"{type(error).__name__}: {error}"[:300]
