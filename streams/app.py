"""The Faust worker: thin agents over `streams.evaluator`, with Faust tables as its state.

    python -m faust -A streams.app worker -l info --without-web

- `sf.changes` -> merge into the `records` table (keyed `tenant:Object:Id`), evaluate, send
  upserts to the Gather topics; an Opportunity's deal moves go to `sf.deals`, keyed by its
  account, so the `deals` table lives with the account's record (co-partitioned topics, one
  murmur2 partitioner for both clients).
- `gather.tenants` -> the `tenant-configs` global table; every worker re-evaluates its own
  records of a tenant whose config changed (a timer compares config digests).
Tables live in WORKER_STORE (memory, rebuilt from their changelog topics on start, or RocksDB
on disk); `gather-sync reprocess` reads the same changelogs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any, TypeVar

import faust
import structlog
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from faust.exceptions import NotReady
from pydantic import ValidationError

from connectors.kafka.settings import KafkaSettings
from connectors.kafka.topics import (
    DLQ_SUFFIX,
    GATHER_TENANTS,
    GATHER_TOPIC_BY_KIND,
    SF_CHANGES,
    SF_DEALS,
)
from connectors.telemetry.metrics import (
    DLQ_MESSAGES,
    MESSAGES_IN,
    MESSAGES_OUT,
    MetricsSettings,
    serve,
)
from schemas.changes import SalesforceChange
from schemas.gather import GatherUpsert
from schemas.loader import validate_tenant_config
from schemas.tenant import TenantConfig
from streams.evaluator import DealMove, Evaluator
from streams.merge import RecordState
from streams.settings import WorkerSettings

log = structlog.get_logger(__name__)
V = TypeVar("V")


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


class ConfigView(Mapping[str, TenantConfig]):
    """Tenant configs from the global table, parsed once per distinct value."""

    def __init__(self, table: Any) -> None:
        self._table = table
        self._parsed: dict[bytes, TenantConfig] = {}

    def __getitem__(self, key: str) -> TenantConfig:
        raw = self._table.get(key)
        if raw is None:
            raise KeyError(key)
        if raw not in self._parsed:
            self._parsed[raw] = validate_tenant_config(_json_loads(raw))
        return self._parsed[raw]

    def __iter__(self) -> Iterator[str]:
        return iter([k for k, v in list(self._table.items()) if v])

    def __len__(self) -> int:
        return len(list(iter(self)))

    def digests(self) -> dict[str, str]:
        return {k: hashlib.sha256(v).hexdigest() for k, v in list(self._table.items()) if v}


def _json_loads(raw: bytes) -> Any:
    return json.loads(raw)


def _json_dumps(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True).encode()


def _source_partitions(kafka: KafkaSettings) -> int:
    """Tables and `sf.deals` must have as many partitions as `sf.changes` (co-partitioning):
    take the count from the topic itself when it exists."""
    try:
        topics = AdminClient(kafka.admin_config()).list_topics(SF_CHANGES, timeout=10).topics
        return len(topics[SF_CHANGES].partitions) or kafka.partitions
    except (KafkaException, KeyError):
        return kafka.partitions


kafka = KafkaSettings()
settings = WorkerSettings()
partitions = _source_partitions(kafka)
app = faust.App(
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
)
changes_topic = app.topic(SF_CHANGES, key_type=bytes, value_type=bytes)
deals_topic = app.topic(SF_DEALS, key_type=bytes, value_type=bytes, partitions=partitions)
tenants_topic = app.topic(GATHER_TENANTS, key_type=bytes, value_type=bytes)
changes_dlq = app.topic(SF_CHANGES + DLQ_SUFFIX, key_type=bytes, value_type=bytes)
records_table = app.Table("records", key_type=str, value_type=bytes, default=None)
deals_table = app.Table("deals", key_type=str, value_type=bytes, default=None)
configs_table = app.GlobalTable("tenant-configs", key_type=str, value_type=bytes, default=None)

configs = ConfigView(configs_table)
records: BytesTable[RecordState] = BytesTable(
    records_table, RecordState.model_validate_json, lambda s: s.model_dump_json().encode()
)
deals: BytesTable[dict[str, bool]] = BytesTable(
    deals_table, lambda raw: dict(_json_loads(raw)), _json_dumps
)
evaluator = Evaluator(records, deals, configs)
_seen_digests: dict[str, str] = {}


async def _send(upserts: list[GatherUpsert]) -> None:
    for upsert in upserts:
        MESSAGES_OUT.labels("worker", upsert.tenant).inc()
        topic = GATHER_TOPIC_BY_KIND[upsert.kind]
        await app.topic(topic, key_type=bytes, value_type=bytes).send(
            key=upsert.key.encode(), value=upsert.model_dump_json().encode()
        )


@app.task  # type: ignore[untyped-decorator]
async def serve_metrics() -> None:
    serve(MetricsSettings(), "worker")


@app.agent(changes_topic)
async def on_changes(stream: Any) -> None:
    async for event in stream.events():
        try:
            change = SalesforceChange.model_validate_json(event.value)
        except ValidationError as e:
            DLQ_MESSAGES.labels(
                "worker", (event.key or b"").decode(errors="replace").split(":")[0]
            ).inc()
            await changes_dlq.send(
                key=event.key,
                value=_json_dumps(
                    {
                        "stage": "worker.parse",
                        "error": str(e)[:500],
                        "original": event.value.decode(errors="replace"),
                    }
                ),
            )
            continue
        MESSAGES_IN.labels("worker", change.tenant).inc()
        upserts, moves = evaluator.observe(change)
        await _send(upserts)
        for move in moves:
            await deals_topic.send(key=move.account_key.encode(), value=move.encode())


@app.agent(deals_topic)
async def on_deals(stream: Any) -> None:
    async for value in stream:
        await _send(evaluator.on_deal(DealMove.decode(value)))


@app.agent(tenants_topic)
async def on_tenants(stream: Any) -> None:
    async for event in stream.events():
        tenant = (event.key or b"").decode()
        configs_table[tenant] = event.value


@app.timer(interval=1.0)  # type: ignore[untyped-decorator]
async def reevaluate_changed_configs() -> None:
    """Each worker re-evaluates its own records of a tenant whose config changed (a worker that
    starts re-evaluates every tenant once, for configs changed while it was down)."""
    recovery = app.tables.recovery  # type: ignore[attr-defined]  # TableManager's, not the ABC's
    if not recovery.completed.is_set():
        return  # tables are still being rebuilt, and the producer may not be started yet
    for tenant, digest in configs.digests().items():
        if _seen_digests.get(tenant) == digest:
            continue
        config = configs.get(tenant)
        if config is not None:
            upserts = evaluator.on_config(config)
            try:
                await _send(upserts)
            except NotReady:
                return  # not marked as seen: the next tick sends them again
            log.info("tenant config applied", tenant=tenant, upserts=len(upserts))
        _seen_digests[tenant] = digest
