"""The sink on the real broker: upserts land in the store, models are saved with the config,
messages it fails on go to the DLQ with stage and reason while the rest is written, a database
that drops out is waited for (nothing dead-lettered), consumer errors are counted, and offsets
are committed only after the database commit."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition
from prometheus_client import REGISTRY
from sqlalchemy import Engine, select, text

from connectors.gather import migrate
from connectors.gather.schema import accounts, models
from connectors.gather.sink import Sink, SinkSettings
from connectors.gather.store import SqlStore
from connectors.kafka.settings import KafkaSettings
from connectors.kafka.topics import provision_contract_topics
from connectors.telemetry.metrics import WAITING
from schemas.contract import DeadLetter, Topics
from schemas.gather import EntityKind, GatherUpsert
from schemas.versions import Version
from tests.builders import a_tenant_config, an_upsert
from tests.connectors.gather.pgfaults import terminate_waiting
from tests.connectors.salesforce.harness import wait_until

NOW = datetime(2026, 11, 28, tzinfo=UTC)


def test_given_upserts_a_config_and_bad_messages_then_rows_models_and_dead_letters(
    kafka_settings: KafkaSettings,
    sqlite_engine: Engine,
) -> None:
    t = ready(kafka_settings, sqlite_engine)
    tenant = f"sink-{uuid.uuid4().hex[:8]}"
    start_at_the_end(kafka_settings, f"sink-{tenant}")
    dlq = DlqTail(kafka_settings, [t.dlq(t.gather_accounts), t.dlq(t.gather_tenants)])
    upsert: GatherUpsert = an_upsert(tenant=tenant)
    broken = json.dumps({"tenant": tenant}).encode()  # JSON, but no salesforce section
    produce(
        kafka_settings,
        t.gather_tenants,
        [(tenant, json.dumps(a_tenant_config(tenant=tenant)).encode()), (tenant, broken)],
    )
    produce(
        kafka_settings,
        t.gather_accounts,
        [(upsert.key, upsert.model_dump_json().encode()), (f"{tenant}:account:x", b"{not json")],
    )
    sink = a_sink(kafka_settings, sqlite_engine, f"sink-{tenant}")
    with running(sink):
        letters = dlq.wait(tenant, 2)
        assert wait_until(lambda: caught_up(kafka_settings, f"sink-{tenant}", t.gather_accounts))

    with sqlite_engine.connect() as db:
        saved = db.execute(select(models.c.name).where(models.c.tenant == tenant)).scalars().all()
    assert saved == ["invoices"]
    assert ids(sqlite_engine, tenant) == ["acct-1"]
    assert sorted((x.stage, x.original) for x in letters) == [
        ("sink.parse", "{not json"),
        ("sink.tenant_config", broken.decode()),
    ]


def test_given_a_refused_and_an_unexpected_failure_then_both_are_dead_letters_and_the_rest_lands(
    kafka_settings: KafkaSettings,
    postgres_engine: Engine,
) -> None:
    t = ready(kafka_settings, postgres_engine)
    tenant = f"bad-{uuid.uuid4().hex[:8]}"
    start_at_the_end(kafka_settings, f"sink-{tenant}")
    dlq = DlqTail(kafka_settings, [t.dlq(t.gather_accounts), t.dlq(t.gather_records)])
    unsaved_model = an_upsert(
        tenant=tenant, kind=EntityKind.RECORD, model="nowhere", sf_id="a00000000000001AAA"
    )
    # valid by the contract, but no datetime holds its commit time (year 30490): the store's
    # freshness raises ValueError, which no database rule foresaw
    far_future = an_upsert(
        tenant=tenant,
        gather_id="acct-far",
        sf_id="001000000000009AAA",
        version=Version(commit_ts=900_000_000_000_000),
    )
    fine = [account(tenant, n) for n in (3, 4)]
    produce(kafka_settings, t.gather_records, [encoded(unsaved_model)])
    produce(kafka_settings, t.gather_accounts, [encoded(fine[0]), encoded(far_future)])
    produce(kafka_settings, t.gather_accounts, [encoded(fine[1])])
    sink = a_sink(kafka_settings, postgres_engine, f"sink-{tenant}")
    with running(sink):
        letters = dlq.wait(tenant, 2)
        topics = [t.gather_accounts, t.gather_records]
        assert wait_until(lambda: caught_up(kafka_settings, f"sink-{tenant}", *topics))

    assert ids(postgres_engine, tenant) == ["acct-3", "acct-4"]
    assert sorted((x.stage, x.error.split(":")[0]) for x in letters) == [
        ("sink.write", "IntegrityError"),
        ("sink.write", "ValueError"),
    ]
    assert {json.loads(x.original)["sf_id"] for x in letters} == {
        unsaved_model.sf_id,
        far_future.sf_id,
    }
    assert sink.stats.retries == 0  # a message's fault is not retried


def test_given_the_database_drops_the_sinks_connection_then_the_batch_is_retried_not_dead_lettered(
    kafka_settings: KafkaSettings,
    postgres_engine: Engine,
) -> None:
    t = ready(kafka_settings, postgres_engine)
    tenant = f"blink-{uuid.uuid4().hex[:8]}"
    start_at_the_end(kafka_settings, f"sink-{tenant}")
    dlq = DlqTail(kafka_settings, [t.dlq(t.gather_accounts)])
    produce(kafka_settings, t.gather_accounts, [encoded(account(tenant, n)) for n in (1, 2)])
    waits: list[float] = []
    sink = a_sink(kafka_settings, postgres_engine, f"sink-{tenant}", sleep=waits.append)
    retried_before = retries("connection_lost")
    with postgres_engine.connect() as locker:
        locker.execute(text("LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE"))
        with running(sink):
            assert terminate_waiting(postgres_engine, timeout=60)  # the sink's, blocked on the lock
            assert wait_until(lambda: sink.stats.retries >= 1, timeout=30)
            assert waiting_for_database() == 1  # the dashboard shows the wait while it lasts
            locker.rollback()  # the database is back
            assert wait_until(
                lambda: caught_up(kafka_settings, f"sink-{tenant}", t.gather_accounts)
            )

    assert ids(postgres_engine, tenant) == ["acct-1", "acct-2"]
    assert dlq.wait(tenant, 1, timeout=1) == []
    assert sink.stats.dead_letters == 0
    assert waits and all(0 < w <= SETTINGS.retry_cap for w in waits)
    assert retries("connection_lost") > retried_before
    assert waiting_for_database() == 0


def waiting_for_database() -> float:
    return float(WAITING.labels("sink", "database")._value.get())


def test_given_a_prefix_with_no_topics_then_the_consumer_errors_are_counted_not_dropped(
    kafka_settings: KafkaSettings,
    sqlite_engine: Engine,
) -> None:
    nowhere = kafka_settings.model_copy(update={"topic_prefix": f"nowhere-{uuid.uuid4().hex[:8]}."})
    sink = a_sink(nowhere, sqlite_engine, f"sink-{uuid.uuid4().hex[:8]}")
    counted_before = consumer_errors("UNKNOWN_TOPIC_OR_PART")

    with running(sink):
        assert wait_until(lambda: sink.stats.consumer_errors >= 1, timeout=30)

    assert consumer_errors("UNKNOWN_TOPIC_OR_PART") > counted_before


# --- builders and readers --------------------------------------------------------------------

SETTINGS = SinkSettings(retry_base=0.01, retry_cap=0.05)


def a_sink(kafka: KafkaSettings, engine: Engine, group: str, **kw: Any) -> Sink:
    settings = SETTINGS.model_copy(update={"group_id": group})
    return Sink(SqlStore.for_engine(engine), kafka, settings, now=lambda: NOW, **kw)


def account(tenant: str, n: int) -> GatherUpsert:
    return an_upsert(tenant=tenant, gather_id=f"acct-{n}", sf_id=f"00100000000000{n}AAA")


def encoded(upsert: GatherUpsert) -> tuple[str, bytes]:
    return upsert.key, upsert.model_dump_json().encode()


def ready(kafka: KafkaSettings, engine: Engine) -> Topics:
    provision_contract_topics(kafka)
    migrate.upgrade(engine)
    return Topics.of(kafka)


def produce(kafka: KafkaSettings, topic: str, items: list[tuple[str, bytes]]) -> None:
    producer = Producer(kafka.producer_config())
    for key, value in items:
        producer.produce(topic, key=key.encode(), value=value)
    assert producer.flush(30) == 0


@contextmanager
def running(sink: Sink) -> Iterator[None]:
    """The sink in a thread until the block ends, stopped as SIGTERM stops it."""
    stop = threading.Event()
    worker = threading.Thread(target=sink.run, args=(stop,))
    worker.start()
    try:
        yield
    finally:
        stop.set()
        worker.join(30)


def start_at_the_end(kafka: KafkaSettings, group: str) -> None:
    """The group starts after what the shared broker already holds (other runs' upserts), so
    the test's sink reads only the test's messages."""
    t = Topics.of(kafka)
    consumer = Consumer(kafka.consumer_config(group))
    consumer.commit(offsets=_ends(consumer, [*t.gather_data, t.gather_tenants]), asynchronous=False)
    consumer.close()


class DlqTail:
    """Dead letters written to some DLQ topics after it was made (the broker keeps others')."""

    def __init__(self, kafka: KafkaSettings, topics: list[str]) -> None:
        group = f"dlq-{uuid.uuid4().hex[:8]}"
        self._consumer = Consumer(kafka.consumer_config(group) | {"enable.auto.commit": False})
        self._consumer.assign(_ends(self._consumer, topics))
        self._seen: list[tuple[str, bytes]] = []

    def wait(self, tenant: str, count: int, timeout: float = 60.0) -> list[DeadLetter]:
        deadline = time.monotonic() + timeout
        while len(self._mine(tenant)) < count and time.monotonic() < deadline:
            message = self._consumer.poll(0.2)
            if message is not None and message.error() is None:
                self._seen.append(((message.key() or b"").decode(), message.value() or b""))
        self._consumer.close()
        return self._mine(tenant)

    def _mine(self, tenant: str) -> list[DeadLetter]:
        # an upsert's key starts `tenant:`; a tenant config's is the tenant
        mine = [v for k, v in self._seen if k == tenant or k.startswith(f"{tenant}:")]
        return [DeadLetter.decode(v) for v in mine]


def _ends(consumer: Consumer, topics: list[str]) -> list[TopicPartition]:
    return [
        TopicPartition(topic, p, consumer.get_watermark_offsets(TopicPartition(topic, p), 30)[1])
        for topic in topics
        for p in consumer.list_topics(topic, timeout=30).topics[topic].partitions
    ]


def caught_up(kafka: KafkaSettings, group: str, *topics: str) -> bool:
    """The group's committed offsets reached the end of every partition of the topics."""
    consumer = Consumer(kafka.consumer_config(group))
    try:
        ends = _ends(consumer, list(topics))
        committed = consumer.committed([TopicPartition(e.topic, e.partition) for e in ends], 30)
    finally:
        consumer.close()
    return [max(c.offset, 0) for c in committed] == [e.offset for e in ends]


def ids(engine: Engine, tenant: str) -> list[str]:
    with engine.connect() as db:
        found = select(accounts.c.id).where(accounts.c.tenant == tenant).order_by(accounts.c.id)
        return list(db.execute(found).scalars())


def retries(reason: str) -> float:
    labels = {"stage": "sink", "reason": reason}
    return REGISTRY.get_sample_value("gather_sync_retries_total", labels) or 0.0


def consumer_errors(code: str) -> float:
    labels = {"stage": "sink", "code": code}
    return REGISTRY.get_sample_value("gather_sync_consumer_errors_total", labels) or 0.0


def test_given_a_long_poll_timeout_when_one_upsert_arrives_then_it_is_written_without_waiting_it(
    kafka_settings: KafkaSettings,
    postgres_engine: Engine,
) -> None:
    t = ready(kafka_settings, postgres_engine)
    tenant = f"prompt-{uuid.uuid4().hex[:8]}"
    start_at_the_end(kafka_settings, f"sink-{tenant}")
    sink = a_sink(kafka_settings, postgres_engine, f"sink-{tenant}")
    sink.settings = sink.settings.model_copy(update={"poll_timeout": 12.0, "batch_size": 500})
    with running(sink):
        produce(kafka_settings, t.gather_accounts, [encoded(account(tenant, 1))])
        assert wait_until(lambda: ids(postgres_engine, tenant) == ["acct-1"], timeout=60)
        produce(kafka_settings, t.gather_accounts, [encoded(account(tenant, 2))])
        # in the group and polling: a batch of one is written when it comes, not once 500
        # messages or the 12 s poll timeout are reached
        written = wait_until(lambda: len(ids(postgres_engine, tenant)) == 2, timeout=6)
    assert written
