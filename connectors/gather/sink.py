"""The sink: Gather topics -> the store, a batch per transaction, offsets committed after it.

Offsets are committed only once the database transaction holding their upserts committed
(confluent-kafka's "at least once" pattern), so a crash replays the batch, which the store's
monotonic upserts absorb. A message that cannot be parsed, or that the store refuses on its own,
goes to `<topic>.dlq` with the reason; the rest of its batch is written.
https://docs.confluent.io/platform/current/clients/consumer.html#offset-management
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import structlog
from confluent_kafka import Consumer, Message, Producer, TopicPartition
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.exc import SQLAlchemyError

from connectors.gather.store import ApplyResult, SqlStore
from connectors.kafka.settings import KafkaSettings
from connectors.kafka.topics import (
    DLQ_SUFFIX,
    GATHER_ACCOUNTS,
    GATHER_RECORDS,
    GATHER_TENANTS,
    GATHER_USERS,
)
from connectors.telemetry.metrics import DLQ_MESSAGES, END_TO_END_DELAY, MESSAGES_IN, MESSAGES_OUT
from schemas.gather import GatherUpsert
from schemas.loader import validate_tenant_config

log = structlog.get_logger(__name__)


class SinkSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SINK_", frozen=True, extra="ignore")

    group_id: str = Field(default="gather-sync-sink", description="SINK_GROUP_ID")
    batch_size: int = Field(
        default=500, ge=1, description="SINK_BATCH_SIZE: messages per transaction"
    )
    poll_timeout: float = Field(default=1.0, gt=0, description="SINK_POLL_TIMEOUT: seconds")


@dataclass
class SinkStats:
    batches: int = 0
    written: int = 0
    unmatched: int = 0
    dead_letters: int = 0
    by_tenant: dict[str, int] = field(default_factory=dict)


@dataclass
class Sink:
    store: SqlStore
    kafka: KafkaSettings
    settings: SinkSettings
    now: Callable[[], datetime]
    stats: SinkStats = field(default_factory=SinkStats)
    newest: dict[str, datetime] = field(default_factory=dict)  # tenant -> newest applied commit

    def run(self, stop: threading.Event) -> None:
        consumer = Consumer(
            self.kafka.consumer_config(self.settings.group_id) | {"enable.auto.commit": False}
        )
        consumer.subscribe([GATHER_ACCOUNTS, GATHER_USERS, GATHER_RECORDS, GATHER_TENANTS])
        self._dlq = Producer(self.kafka.producer_config())
        try:
            while not stop.is_set():
                messages = consumer.consume(self.settings.batch_size, self.settings.poll_timeout)
                batch = [m for m in messages if m.error() is None]
                if batch:
                    self.handle(batch)
                    # the database committed first; then the offsets after this batch
                    consumer.commit(offsets=_next_offsets(batch), asynchronous=False)
        finally:
            self._dlq.flush(30)
            consumer.close()

    def handle(self, batch: list[Message]) -> None:
        upserts: list[tuple[Message, GatherUpsert]] = []
        for message in batch:
            if message.topic() == GATHER_TENANTS:
                self._tenant_config(message)
                continue
            try:
                upserts.append((message, GatherUpsert.model_validate_json(message.value() or b"")))
            except ValidationError as e:
                self._dead_letter(message, "sink.parse", f"not a Gather upsert: {e.errors()[:3]}")
        self._write(upserts)
        self._dlq.flush(30)
        self.stats.batches += 1

    def _write(self, upserts: list[tuple[Message, GatherUpsert]]) -> None:
        for _, upsert in upserts:
            MESSAGES_IN.labels("sink", upsert.tenant).inc()
        try:
            self._applied([u for _, u in upserts])
        except SQLAlchemyError:
            # Find the one the store refuses (a record of a model not saved yet, say): one by one.
            for message, upsert in upserts:
                try:
                    self._applied([upsert])
                except SQLAlchemyError as e:
                    self._dead_letter(
                        message, "sink.write", f"{type(e).__name__}: {getattr(e, 'orig', e)}"
                    )

    def _applied(self, upserts: list[GatherUpsert]) -> None:
        """Apply in one transaction; metrics and freshness only once it committed."""
        result = self.store.apply(upserts, self.now())
        self._count(result)
        committed = self.now()
        for upsert in upserts:
            delay = committed.timestamp() - upsert.version.commit_ts / 1000
            END_TO_END_DELAY.labels(upsert.tenant).observe(max(0.0, delay))
            MESSAGES_OUT.labels("sink", upsert.tenant).inc()
        for tenant, commit_at in result.newest.items():
            self.newest[tenant] = max(self.newest.get(tenant, commit_at), commit_at)

    def _count(self, result: ApplyResult) -> None:
        self.stats.written += result.written
        self.stats.unmatched += result.unmatched
        for tenant in result.tenants:
            self.stats.by_tenant[tenant] = self.stats.by_tenant.get(tenant, 0) + 1

    def _tenant_config(self, message: Message) -> None:
        """Models exist once a tenant's config is saved (its custom objects' models)."""
        if message.value() is None:
            return
        try:
            config = validate_tenant_config(json.loads(message.value() or b""))
        except (ValueError, ValidationError) as e:
            self._dead_letter(message, "sink.tenant_config", str(e)[:500])
            return
        wanted = [(c.model, c.object, c.id_field) for c in config.custom_objects]
        self.store.save_models(config.tenant, wanted, self.now())
        log.info("tenant models saved", tenant=config.tenant, models=[w[0] for w in wanted])

    def _dead_letter(self, message: Message, stage: str, reason: str) -> None:
        key = (message.key() or b"").decode(errors="replace")
        value = json.dumps(
            {
                "stage": stage,
                "error": reason,
                "original": (message.value() or b"").decode(errors="replace"),
            }
        )
        self._dlq.produce(f"{message.topic()}{DLQ_SUFFIX}", key=key.encode(), value=value.encode())
        self.stats.dead_letters += 1
        DLQ_MESSAGES.labels("sink", key.split(":", 1)[0]).inc()
        log.warning(
            "message sent to the DLQ", tenant=key.split(":", 1)[0], stage=stage, reason=reason[:200]
        )


def _next_offsets(batch: list[Message]) -> list[TopicPartition]:
    last: dict[tuple[str, int], int] = {}
    for message in batch:
        key = (message.topic() or "", message.partition() or 0)
        last[key] = max(last.get(key, -1), message.offset() or 0)
    return [
        TopicPartition(topic, partition, offset + 1) for (topic, partition), offset in last.items()
    ]
