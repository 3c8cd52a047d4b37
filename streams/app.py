"""The Faust worker: thin agents over `streams.evaluator`, with Faust tables as its state.

    gather-sync worker --loglevel info   (the same as `python -m faust -A streams.app worker`)

- `sf.changes` -> merge into the `records` table (keyed `tenant:Object:Id`), evaluate, send
  upserts to the Gather topics; an Opportunity's deal moves go to `sf.deals`, keyed by its
  account, so the `deals` table lives with the account's record (co-partitioned topics, one
  murmur2 partitioner for both clients).
- `gather.tenants` -> the `tenant-configs` global table; `sf.schemas` -> the `schemas` global
  table (each object's describe types, which filters compare by).
- A tenant whose config or types changed is re-evaluated once per partition through
  `worker.control` (streams/control.py); what each partition has applied is in the `applied`
  table, so a restart re-evaluates only what changed while the worker was down.
- A message an agent cannot handle (unparseable, or the rules fail on it) goes to the topic's
  DLQ with its stage and reason; the agent goes on.

Nothing here touches the network at import: `app` is built on first access (the Faust command
line reads `streams.app:app`), from settings read then, with the partition count of
`sf.changes` as the broker reports it.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar, cast

import faust
import orjson
import structlog
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from connectors.backoff import backoff
from connectors.kafka.failures import classify
from connectors.kafka.settings import KafkaSettings
from connectors.telemetry.health import HEALTH
from connectors.telemetry.metrics import (
    DLQ_MESSAGES,
    MESSAGES_IN,
    MESSAGES_OUT,
    RECORDS_SKIPPED,
    RETRIES,
    STAGE_FAILURES,
    MetricsSettings,
    serve,
)
from schemas.changes import SalesforceChange
from schemas.contract import DeadLetter, Topics, tenant_of
from schemas.describe import ObjectSchema
from schemas.gather import EntityKind, GatherUpsert
from schemas.loader import validate_tenant_config
from schemas.tenant import TenantConfig
from streams import broker_waits, faust_metadata, faust_spinner, state_codec
from streams.control import Reevaluate, SchemaView, applied_key, own_keys, wanted_digest
from streams.evaluator import DealMove, Evaluator, Observed
from streams.faust_fixes import Admit, InOrder, handled, install, manual, writing_for
from streams.health import install as watch_health
from streams.merge import RecordState
from streams.settings import WorkerSettings

log = structlog.get_logger(__name__)
V = TypeVar("V")
Sleep = Callable[[float], Awaitable[None]]
# re-send a re-evaluation request still not applied after this many ticks (a request can be lost
# with a partition that moved while it waited)
RESEND_TICKS = 30
DLQ_ORIGINAL_BYTES = 64 * 1024  # of a message the broker refused, kept in its dead letter


@dataclass(frozen=True)
class Out:
    """One message an event derives, for one topic (and a partition when it is chosen)."""

    topic: Any
    key: bytes | None
    value: bytes
    tenant: str
    partition: int | None = None
    dead_letter: bool = False  # a DLQ envelope: if the broker refuses it too, it is dropped


class BytesTable(MutableMapping[str, V]):
    """A Faust table of bytes seen through an encoder and a decoder."""

    def __init__(
        self, table: Any, decode: Callable[[bytes], V], encode: Callable[[V], bytes]
    ) -> None:
        self._table, self._decode, self._encode = table, decode, encode

    def __getitem__(self, key: str) -> V:
        raw = self._table[key]
        if raw is None:
            raise KeyError(key)
        return self._decode(raw)

    def __setitem__(self, key: str, value: V) -> None:
        self._table[key] = self._encode(value)

    def __delitem__(self, key: str) -> None:
        del self._table[key]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._table.keys()))

    def __len__(self) -> int:
        return len(self._table)


class Staged(MutableMapping[str, V]):
    """A table seen through one batch's writes: read-through to the table (each key decoded
    once), written here; `commit` writes each key once to the table, once what the batch derived
    is in Kafka. A batch that fails is dropped with its writes, so it derives them again."""

    def __init__(self, table: MutableMapping[str, V]) -> None:
        self._table = table
        self._read: dict[str, V | None] = {}
        self._written: dict[str, V] = {}

    def __getitem__(self, key: str) -> V:
        if key in self._written:
            return self._written[key]
        if key not in self._read:
            self._read[key] = self._table.get(key)
        found = self._read[key]
        if found is None:
            raise KeyError(key)
        return found

    def __setitem__(self, key: str, value: V) -> None:
        self._written[key] = value

    def __delitem__(self, key: str) -> None:
        raise NotImplementedError("the worker's batches only write")

    def __iter__(self) -> Iterator[str]:
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)

    def commit(self) -> None:
        for key, value in self._written.items():
            self._table[key] = value
        self._written.clear()


class ConfigView(Mapping[str, TenantConfig]):
    """Tenant configs from the global table, parsed once per distinct value; a value that does
    not parse is no config (the tenants topic's writer validated it; logged once)."""

    def __init__(self, table: Any) -> None:
        self._table = table
        self._parsed: dict[bytes, TenantConfig | None] = {}

    def __getitem__(self, key: str) -> TenantConfig:
        raw = self._table.get(key)
        parsed = self._parse(key, raw) if raw else None
        if parsed is None:
            raise KeyError(key)
        return parsed

    def _parse(self, tenant: str, raw: bytes) -> TenantConfig | None:
        if raw not in self._parsed:
            try:
                self._parsed[raw] = validate_tenant_config(json.loads(raw))
            except ValueError as e:  # pydantic's ValidationError and JSON errors are ValueErrors
                log.error("tenant config does not parse", tenant=tenant, error=str(e)[:300])
                STAGE_FAILURES.labels("worker.config", tenant).inc()
                self._parsed[raw] = None
        return self._parsed[raw]

    def __iter__(self) -> Iterator[str]:
        return iter(self.raw())

    def __len__(self) -> int:
        return len(self.raw())

    def raw(self) -> dict[str, bytes]:
        """Every tenant's config as stored (a removed config, a tombstone, is left out)."""
        return {k: v for k, v in list(self._table.items()) if v}


def _json_dumps(value: Any) -> bytes:
    # the deals table keeps it: a copy to its length (state_codec.kept)
    return state_codec.kept(orjson.dumps(value, option=orjson.OPT_SORT_KEYS))


def _count_skip(tenant: str, obj: str, reason: str) -> None:
    RECORDS_SKIPPED.labels(tenant, obj, reason).inc()


# With WORKER_STORE=rocksdb:// each table has one RocksDB per partition, and Faust's defaults
# give each a 2 GiB block cache and three 64 MiB write buffers: with a million states read and
# written, the caches filled to several GiB. These keep a partition's database to about 24 MiB
# (the OS page cache still holds the hot files, outside the worker's RSS).
ROCKSDB_BLOCK_CACHE = 8 * 1024**2
ROCKSDB_WRITE_BUFFER = 4 * 1024**2


def rocksdb_options() -> dict[str, Any]:
    """A table's store options (a fresh dict: Faust pops keys from it); the memory store
    ignores them."""
    return {
        "block_cache_size": ROCKSDB_BLOCK_CACHE,
        "block_cache_compressed_size": ROCKSDB_BLOCK_CACHE,
        "write_buffer_size": ROCKSDB_WRITE_BUFFER,
        "max_write_buffer_number": 2,
    }


def source_partitions(kafka: KafkaSettings, topics: Topics) -> int:
    """Tables, `sf.deals` and `worker.control` must have as many partitions as `sf.changes`
    (co-partitioning): take the count from the topic itself when it exists."""
    try:
        found = AdminClient(kafka.admin_config()).list_topics(topics.sf_changes, timeout=10)
        return len(found.topics[topics.sf_changes].partitions) or kafka.partitions
    except (KafkaException, KeyError):
        return kafka.partitions


class Worker:
    """The Faust app, its topics, tables and agents, built from the settings given."""

    def __init__(
        self,
        kafka: KafkaSettings,
        settings: WorkerSettings,
        partitions: int,
        sleep: Sleep = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.topics, self.partitions = Topics.of(kafka), partitions
        self.settings, self._sleep, self._jitter = settings, sleep, jitter
        self._solo = asyncio.Lock()  # refused messages are sent again one at a time
        self.app = faust.App(
            settings.app_id,
            broker=[f"kafka://{server}" for server in kafka.bootstrap_servers.split(",")],
            store=settings.store,
            topic_partitions=partitions,
            topic_replication_factor=kafka.replication_factor,
            key_serializer="raw",
            value_serializer="raw",
            web_port=settings.web_port,
            datadir=settings.datadir,
            web_enabled=False,
            producer_acks=-1,
            broker_commit_interval=settings.commit_interval,
            # a topic the group leader did not see at assignment is found at the next refresh
            # (streams/faust_metadata.py); the consumer asks for its own topics only, so 30 s
            # instead of Faust's 5 minutes costs one small request
            consumer_metadata_max_age_ms=30_000,
        )
        # a batch's table writes wait in Faust's producer buffer; past its limit (100 by
        # default) Faust stops handing out events until it drained, one message at a time
        self.app.producer.buffer.max_messages = 4 * settings.batch_size
        self._declare_tables()
        self.evaluator = Evaluator(
            self.records, self.deals, self.configs, self.schemas, on_skip=_count_skip
        )
        # what this process asked a partition for, and at which tick, so a tick does not ask
        # again at once; what each partition has applied is in the `applied` table, not here
        self._requested: dict[str, tuple[str, int]] = {}
        self._ticks = 0
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._declare_agents()
        install()
        broker_waits.install()
        faust_spinner.install()
        faust_metadata.install()
        self._order = InOrder(self.app)
        manual([self.topics.sf_changes, self.topics.sf_deals, self.topics.worker_control])

    def _topic(self, name: str, **kw: Any) -> Any:
        return self.app.topic(name, key_type=bytes, value_type=bytes, **kw)

    def _declare_tables(self) -> None:
        app, n = self.app, self.partitions
        self.records_table, self.deals_table, self.applied_table = (
            app.Table(name, key_type=str, value_type=bytes, default=None, options=rocksdb_options())
            for name in ("records", "deals", "applied")
        )
        # recovery_buffer_size=1: a worker applies another worker's writes to a global table as
        # they come; with Faust's default (1000) it applied them only at its next rebalance, so
        # it went on evaluating with an old config (faust/tables/recovery.py `_slurp_changelogs`
        # buffers the partitions it does not own as active ones; robinhood/faust#716,
        # faust-streaming/faust#212)
        self.configs_table = app.GlobalTable(
            "tenant-configs", key_type=str, value_type=bytes, default=None, recovery_buffer_size=1
        )
        self.schemas_table = app.GlobalTable(
            "schemas", key_type=str, value_type=bytes, default=None, recovery_buffer_size=1
        )
        self.records: BytesTable[RecordState] = BytesTable(
            self.records_table, state_codec.decode, state_codec.encode
        )
        self.deals: BytesTable[dict[str, bool]] = BytesTable(
            self.deals_table, lambda raw: dict(orjson.loads(raw)), _json_dumps
        )
        self.configs = ConfigView(self.configs_table)
        self.schemas = SchemaView(self.schemas_table)
        self.deals_topic = self._topic(self.topics.sf_deals, partitions=n)
        self.control_topic = self._topic(self.topics.worker_control, partitions=n)
        # one Topic per Gather topic, not one built per upsert on the hot path
        self.gather_topics = {k: self._topic(self.topics.gather_topic(k)) for k in EntityKind}
        inputs = (self.topics.sf_changes, self.topics.sf_deals, self.topics.sf_schemas)
        self.dlq_topics = {t: self._topic(Topics.dlq(t)) for t in inputs}

    def _declare_agents(self) -> None:
        app, t = self.app, self.topics
        app.agent(self._topic(t.sf_changes), name="on_changes")(self.on_changes)
        app.agent(self.deals_topic, name="on_deals")(self.on_deals)
        app.agent(self._topic(t.gather_tenants), name="on_tenants")(self.on_tenants)
        app.agent(self._topic(t.sf_schemas), name="on_schemas")(self.on_schemas)
        app.agent(self.control_topic, name="on_control")(self.on_control)
        app.timer(interval=1.0, name="request_reevaluations")(self.request_reevaluations)
        app.timer(interval=1.0, name="unstall")(self.unstall)

    # --- agents ----------------------------------------------------------------------------------

    # The agents over sf.changes, sf.deals and worker.control acknowledge an event themselves
    # (streams/faust_fixes.py), once everything it derived is in Kafka: Faust's own acknowledgement,
    # in a `finally`, also covers an event an agent was stopped in the middle of, or one skipped
    # unhandled at a rebalance, and its offset would be committed with its upserts unsent.

    # They also take their partition's lock for the whole of an event: a change and a deal move
    # of one account each read the other's table and write their own only after delivering, so
    # unlocked, each could decide on the other's old value (the deal seen won with the account's
    # old fields, the account's new fields seen with the deal not yet won) and neither would
    # send the account as it now is.

    async def _in_order(self, stream: Any, handle: Callable[[Any], Awaitable[None]]) -> None:
        """Each partition's events in offset order, none skipped (streams/faust_fixes.py), under
        the partition's lock, acknowledged once handled."""
        async for event in stream.noack().events():
            admitted = await self._order.admit(event)
            if admitted is Admit.EARLY:
                continue  # fetched again, in order, after the seek back
            if admitted is Admit.HANDLE:
                async with self._locks[event.message.partition]:
                    await handle(event)
            handled(event)

    async def _in_batches(
        self, stream: Any, handle: Callable[[list[Any]], Awaitable[None]]
    ) -> None:
        """As `_in_order`, a batch at a time (up to WORKER_BATCH_SIZE events, or what came
        within WORKER_BATCH_SECONDS): each partition's admitted events are handled together,
        in offset order, under its lock, and acknowledged once all they derived is in Kafka."""
        size, within = self.settings.batch_size, self.settings.batch_seconds
        async for events in stream.take_events(size, within=within):
            batches: defaultdict[int, list[Any]] = defaultdict(list)
            for event in events:
                admitted = await self._order.admit(event)
                if admitted is Admit.HANDLE:
                    batches[event.message.partition].append(event)
                elif admitted is Admit.AGAIN:
                    handled(event)
                # Admit.EARLY: fetched again, in order, after the seek back
            for partition, batch in batches.items():
                async with self._locks[partition]:
                    await handle(batch)
                for event in batch:
                    handled(event)

    async def on_changes(self, stream: Any) -> None:
        await self._in_batches(stream, self._changes)

    async def _changes(self, events: list[Any]) -> None:
        """Merge, evaluate, deliver, one partition's batch in offset order; the records' new
        states are kept (once per record) only when the batch's messages are in Kafka, so a
        change delivered again (after a crash or a rebalance) derives them again."""
        records: Staged[RecordState] = Staged(self.records)
        evaluator = replace(self.evaluator, records=records)
        out: list[Out] = []
        seen: Counter[str] = Counter()
        for event in events:
            try:
                change = SalesforceChange.model_validate_json(event.value)
                observed = evaluator.observe(change)
            except Exception as e:
                await self._dead_letter(self.topics.sf_changes, event, "worker.changes", e)
                continue
            seen[change.tenant] += 1
            out += self._derived(observed, change.tenant)
            evaluator.keep(observed)
        for tenant, count in seen.items():
            MESSAGES_IN.labels("worker", tenant).inc(count)
        started = self._first_applied(seen, events[0].message.partition)
        await self._deliver(out)
        with writing_for(events[-1]):
            records.commit()
            for key, digest in started.items():
                self.applied_table[key] = digest

    def _first_applied(self, tenants: Iterable[str], partition: int) -> dict[str, bytes]:
        """`applied` entries this batch starts: a tenant with none on this partition has no
        records here yet, so once the batch is delivered they were all evaluated with this
        worker's config and types, and a re-evaluation request for that digest has nothing to
        do. (Without it, a fresh worker's first request re-sent every record it had handled:
        81,021 upserts for 50,000 changes.) No config yet is no digest: the request that comes
        with the config re-evaluates them."""
        keys = {applied_key(tenant, partition): tenant for tenant in tenants}
        return {
            key: (self._digest(tenant) or "").encode()
            for key, tenant in keys.items()
            if self.applied_table.get(key) is None
        }

    def _derived(self, observed: Observed, tenant: str) -> list[Out]:
        moves = [
            Out(self.deals_topic, m.account_key.encode(), m.encode(), tenant)
            for m in observed.moves
        ]
        return self._upserts(observed.upserts) + moves

    async def on_deals(self, stream: Any) -> None:
        await self._in_batches(stream, self._deals)

    async def _deals(self, events: list[Any]) -> None:
        """As `_changes`: one partition's deal moves, the accounts' deals kept once delivered."""
        deals: Staged[dict[str, bool]] = Staged(self.deals)
        evaluator = replace(self.evaluator, deals=deals)
        out: list[Out] = []
        for event in events:
            try:
                outcome = evaluator.decide_deal(DealMove.decode(event.value))
            except Exception as e:
                await self._dead_letter(self.topics.sf_deals, event, "worker.deals", e)
                continue
            out += self._upserts(outcome.upserts)
            evaluator.keep_deal(outcome)
        await self._deliver(out)
        with writing_for(events[-1]):
            deals.commit()

    async def on_tenants(self, stream: Any) -> None:
        async for event in stream.events():
            self.configs_table[(event.key or b"").decode()] = event.value

    async def on_schemas(self, stream: Any) -> None:
        async for event in stream.events():
            key = (event.key or b"").decode()
            try:
                if event.value:
                    ObjectSchema.model_validate_json(event.value)
            except ValueError as e:
                await self._dead_letter(self.topics.sf_schemas, event, "worker.schemas", e)
                continue
            self.schemas_table[key] = event.value

    async def on_control(self, stream: Any) -> None:
        await self._in_order(stream, self._control)

    async def _control(self, event: Any) -> None:
        """Re-evaluate a tenant's records of this event's partition, once per digest."""
        partition = event.message.partition
        try:
            request = Reevaluate.model_validate_json(event.value)
            upserts = self._reevaluate(request, partition)
        except Exception as e:
            log.error("re-evaluation failed", tenant=tenant_of(event.key), error=repr(e))
            STAGE_FAILURES.labels("worker.control", tenant_of(event.key)).inc()
            return
        if upserts is None:
            return
        await self._deliver(self._upserts(upserts))
        # marked applied only once its upserts are in Kafka: a request delivered again after
        # a crash between the two re-evaluates again rather than finding it applied
        self.applied_table[applied_key(request.tenant, partition)] = request.digest.encode()
        log.info(
            "tenant re-evaluated", tenant=request.tenant, partition=partition, upserts=len(upserts)
        )

    def _reevaluate(self, request: Reevaluate, partition: int) -> list[GatherUpsert] | None:
        """The upserts of this partition's records, or None when nothing is to be done (already
        applied, or the request is stale: this worker's tables say the digest moved on)."""
        applied = self.applied_table.get(applied_key(request.tenant, partition))
        if applied == request.digest.encode() or self._digest(request.tenant) != request.digest:
            return None
        config = self.configs.get(request.tenant)
        if config is None:
            return None
        keys = own_keys(self.records, request.tenant, partition, self.partitions)
        return self.evaluator.reevaluate(config, keys)

    async def unstall(self) -> None:
        """Seek back a partition whose events stopped short of its end (faust_fixes.InOrder).
        Not while an agent is in the middle of an event (a send waiting for the broker): its
        partitions are busy, not stalled."""
        recovery = self.app.tables.recovery  # type: ignore[attr-defined]  # TableManager's
        busy = any(lock.locked() for lock in self._locks.values())
        if recovery.completed.is_set() and self.app.flow_control.is_active() and not busy:
            await self._order.unstall(self.app.consumer.assignment())

    # --- requests --------------------------------------------------------------------------------

    async def request_reevaluations(self) -> None:
        """Ask each partition this worker holds to re-evaluate a tenant whose digest applied
        there is not the one this worker's configs and types give: a changed config or types, a
        partition that arrived with another digest, or records evaluated by another worker whose
        view was behind. Every holder reconciles its own partitions, so no request has to reach
        the right worker at the right time."""
        recovery = self.app.tables.recovery  # type: ignore[attr-defined]  # TableManager's
        if not recovery.completed.is_set():
            return  # tables are still being rebuilt, and the producer may not be started yet
        self._ticks += 1
        wanted = self._stale()
        await self._deliver(
            [Out(self.control_topic, r.tenant.encode(), r.encode(), r.tenant, p) for r, p in wanted]
        )
        for request, partition in wanted:
            self._requested[applied_key(request.tenant, partition)] = (request.digest, self._ticks)

    def _stale(self) -> list[tuple[Reevaluate, int]]:
        """(request, partition) for each held partition whose applied digest differs
        from this worker's, unless asked for recently."""
        held = {
            tp.partition
            for tp in self.app.assignor.assigned_actives()
            if tp.topic == self.topics.worker_control
        }
        found = []
        for tenant, raw in self.configs.raw().items():
            digest = self._digest(tenant, raw)
            if digest is None:
                continue
            for partition in sorted(held):
                key = applied_key(tenant, partition)
                asked = self._requested.get(key)
                recent = (
                    asked is not None
                    and asked[0] == digest
                    and self._ticks - asked[1] < RESEND_TICKS
                )
                if self.applied_table.get(key) != digest.encode() and not recent:
                    found.append((Reevaluate(tenant=tenant, digest=digest), partition))
        return found

    def _digest(self, tenant: str, raw: bytes | None = None) -> str | None:
        # the one tenant's entry: `configs.raw()` copies every tenant's, and a batch asks this
        # for each tenant new to its partition, a re-evaluation request for its tenant
        raw = raw if raw is not None else self.configs_table.get(tenant)
        config = self.configs.get(tenant)
        if raw is None or config is None:
            return None
        return wanted_digest(
            raw, config.filtered_fields(), lambda obj: self.schemas.schema(tenant, obj)
        )

    # --- output ----------------------------------------------------------------------------------

    def _upserts(self, upserts: list[GatherUpsert]) -> list[Out]:
        return [
            Out(self.gather_topics[u.kind], u.key.encode(), u.model_dump_json().encode(), u.tenant)
            for u in upserts
        ]

    async def _deliver(self, messages: list[Out]) -> None:
        """Send the messages and wait until the broker acknowledged each one, retrying those it
        did not take for a transient reason with backoff for as long as it takes. The event being
        handled stays unfinished meanwhile, so its offset is not committed before what it derived
        is in Kafka. (Faust's commit flushes the producer but does not fail on a send that
        failed: without this wait such a message would be lost with its offset committed.) A
        message the broker refuses on its own merit (too large) goes to its topic's DLQ."""
        attempt, pending = 0, messages
        while pending:
            # queued one after the other (a key's messages keep their order), acknowledged together
            sends = [await self._queue(m) for m in pending]
            outcomes = await asyncio.gather(*sends, return_exceptions=True)
            # a send cancelled on its own (its producer stopping) is not delivered either
            failed = [
                (m, e)
                for m, e in zip(pending, outcomes, strict=True)
                if isinstance(e, BaseException)
            ]
            pending = [m for m, e in failed if classify(e).transient]
            for m, e in failed:
                if not classify(e).transient and not await self._alone(m):
                    pending.append(m)  # on its own, it failed for a transient reason
            if pending:
                attempt += 1
                await self._send_failed(pending[0].tenant, failed[0][1], attempt, len(pending))
        sent = Counter(m.tenant for m in messages if m.topic is not self.control_topic)
        for tenant, count in sent.items():
            MESSAGES_OUT.labels("worker", tenant).inc(count)

    async def _send_failed(
        self, tenant: str, error: BaseException, attempt: int, messages: int
    ) -> None:
        reason = classify(error).reason
        log.warning(
            "send failed, retrying: waiting for kafka",
            tenant=tenant,
            reason=reason,
            attempt=attempt,
            messages=messages,
            error=repr(error)[:200],
        )
        RETRIES.labels("worker", reason).inc()
        await self._sleep(
            backoff(attempt, self.settings.retry_base, self.settings.retry_cap, self._jitter())
        )

    async def _alone(self, out: Out) -> bool:
        """A message the broker refused, sent once more on its own: a batch too large for its
        topic is refused whole, every message in it with the one that made it too large. One
        at a time, so two refused messages do not meet in a batch again. True when it is
        settled: sent, or refused again and dead-lettered."""
        async with self._solo:
            try:
                await self._send_one(out)
                return True
            except Exception as e:  # a cancellation is not caught: the agent is stopping
                error = e
        if classify(error).transient:
            return False
        await self._refused(out, error)
        return True

    async def _refused(self, out: Out, error: BaseException) -> None:
        """The broker refused the message itself (too large, invalid): sending it again would
        be refused again, so it goes to the DLQ of the topic it was meant for, with the reason."""
        reason = f"refused by the broker ({classify(error).reason}): {error!r}"
        STAGE_FAILURES.labels("worker.send", out.tenant).inc()
        if out.dead_letter:
            log.error("dead letter refused, dropped", tenant=out.tenant, reason=reason)
            return
        DLQ_MESSAGES.labels("worker", out.tenant).inc()
        log.warning("message sent to the DLQ", tenant=out.tenant, stage="worker.send", why=reason)
        # The original is cut: what was too large for its topic would be for the DLQ too.
        envelope = DeadLetter.of("worker.send", reason, out.value[:DLQ_ORIGINAL_BYTES])
        dlq = self._dlq_of(out.topic.get_topic_name())
        await self._deliver([Out(dlq, out.key, envelope.encode(), out.tenant, dead_letter=True)])

    def _dlq_of(self, topic: str) -> Any:
        if topic not in self.dlq_topics:
            self.dlq_topics[topic] = self._topic(Topics.dlq(topic))
        return self.dlq_topics[topic]

    async def _send_one(self, out: Out) -> None:
        await (await self._queue(out))  # the broker's acknowledgement, or the send's error

    async def _queue(self, out: Out) -> Awaitable[Any]:
        """The message handed to the producer; what it returns resolves to the broker's
        acknowledgement (RecordMetadata) or the send's error (also when the producer refused
        it at once, e.g. larger than its request size)."""
        try:
            return cast(
                Awaitable[Any],
                await out.topic.send(key=out.key, value=out.value, partition=out.partition),
            )
        except Exception as e:  # a cancellation is not caught: the agent is stopping
            failed: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            failed.set_exception(e)
            return failed

    async def _dead_letter(self, topic: str, event: Any, stage: str, error: Exception) -> None:
        tenant = tenant_of(event.key)
        reason = f"{type(error).__name__}: {error}"
        DLQ_MESSAGES.labels("worker", tenant).inc()
        log.warning("message sent to the DLQ", tenant=tenant, stage=stage, reason=reason[:200])
        envelope = DeadLetter.of(stage, reason, event.value)
        dlq = self.dlq_topics[topic]
        await self._deliver([Out(dlq, event.key, envelope.encode(), tenant, dead_letter=True)])


_worker: Worker | None = None


def worker() -> Worker:
    """The process's worker, built on first use from the environment's settings."""
    global _worker
    if _worker is None:
        # served first: /livez and /readyz answer while the worker waits for the broker
        serve(MetricsSettings(), "worker")
        kafka = KafkaSettings()
        _worker = Worker(kafka, WorkerSettings(), source_partitions(kafka, Topics.of(kafka)))
        watch_health(_worker.app, HEALTH)
    return _worker


def __getattr__(name: str) -> Any:
    """`streams.app.app` for `faust -A streams.app`, built on first access (PEP 562)."""
    if name == "app":
        return worker().app
    raise AttributeError(name)
