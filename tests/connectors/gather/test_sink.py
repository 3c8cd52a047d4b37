"""The sink on the real broker: upserts land in the store, models are saved with the config,
bad messages go to the DLQ, and offsets are committed only after the database commit."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from confluent_kafka import Consumer, Producer, TopicPartition
from sqlalchemy import Engine, select

from connectors.gather import migrate
from connectors.gather.schema import accounts, models
from connectors.gather.sink import Sink, SinkSettings
from connectors.gather.store import SqlStore
from connectors.kafka.settings import KafkaSettings
from connectors.kafka.topics import (
    GATHER_ACCOUNTS,
    GATHER_RECORDS,
    GATHER_TENANTS,
    GATHER_USERS,
    provision_contract_topics,
)
from schemas.gather import EntityKind, GatherUpsert
from tests.builders import a_tenant_config, an_upsert
from tests.connectors.salesforce.harness import ChangesReader, wait_until


def produce(kafka: KafkaSettings, topic: str, items: list[tuple[str, bytes]]) -> None:
    producer = Producer(kafka.producer_config())
    for key, value in items:
        producer.produce(topic, key=key.encode(), value=value)
    assert producer.flush(30) == 0


def test_given_upserts_a_config_and_a_bad_message_then_rows_models_and_a_dead_letter(
    kafka_settings: KafkaSettings,
    sqlite_engine: Engine,
) -> None:
    provision_contract_topics(kafka_settings)
    migrate.upgrade(sqlite_engine)
    tenant = f"sink-{uuid.uuid4().hex[:8]}"
    group = f"sink-{tenant}"
    start_at_the_end(kafka_settings, group)
    upsert: GatherUpsert = an_upsert(tenant=tenant)
    produce(
        kafka_settings,
        GATHER_TENANTS,
        [(tenant, json.dumps(a_tenant_config(tenant=tenant)).encode())],
    )
    produce(
        kafka_settings,
        GATHER_ACCOUNTS,
        [(upsert.key, upsert.model_dump_json().encode()), (f"{tenant}:account:x", b"{not json")],
    )
    sink = Sink(
        SqlStore.for_engine(sqlite_engine),
        kafka_settings,
        SinkSettings(group_id=group),
        now=lambda: datetime(2026, 11, 28, tzinfo=UTC),
    )
    dlq = ChangesReader(kafka_settings, GATHER_ACCOUNTS + ".dlq")
    with running(sink):
        assert wait_until(lambda: _count(sqlite_engine, tenant) == 1, timeout=60)
        assert wait_until(lambda: sink.stats.dead_letters >= 1, timeout=30)
    dlq.poll_for(3)
    dlq.close()

    with sqlite_engine.connect() as db:
        saved = db.execute(select(models.c.name).where(models.c.tenant == tenant)).scalars().all()
    letters = [json.loads(v) for k, v in dlq.messages if k.startswith(tenant)]
    assert saved == ["invoices"]
    assert letters[0]["stage"] == "sink.parse" and letters[0]["original"] == "{not json"
    assert _committed(kafka_settings, group) == _ends(kafka_settings)


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
    consumer = Consumer(kafka.consumer_config(group))
    topics = (GATHER_ACCOUNTS, GATHER_USERS, GATHER_RECORDS, GATHER_TENANTS)
    ends = [
        TopicPartition(topic, p, consumer.get_watermark_offsets(TopicPartition(topic, p), 30)[1])
        for topic in topics
        for p in consumer.list_topics(topic, timeout=30).topics[topic].partitions
    ]
    consumer.commit(offsets=ends, asynchronous=False)
    consumer.close()


def _count(engine: Engine, tenant: str) -> int:
    with engine.connect() as db:
        return len(db.execute(select(accounts.c.id).where(accounts.c.tenant == tenant)).all())


def _partitions(kafka: KafkaSettings) -> list[TopicPartition]:
    consumer = Consumer(kafka.consumer_config(f"probe-{uuid.uuid4().hex[:6]}"))
    meta = consumer.list_topics(GATHER_ACCOUNTS, timeout=30).topics[GATHER_ACCOUNTS]
    consumer.close()
    return [TopicPartition(GATHER_ACCOUNTS, p) for p in meta.partitions]


def _committed(kafka: KafkaSettings, group: str) -> list[int]:
    consumer = Consumer(kafka.consumer_config(group))
    offsets = [max(p.offset, 0) for p in consumer.committed(_partitions(kafka), timeout=30)]
    consumer.close()
    return offsets


def _ends(kafka: KafkaSettings) -> list[int]:
    consumer = Consumer(kafka.consumer_config(f"ends-{uuid.uuid4().hex[:6]}"))
    ends = [consumer.get_watermark_offsets(p, timeout=30)[1] for p in _partitions(kafka)]
    consumer.close()
    time.sleep(0)
    return ends


def test_given_a_record_of_an_unsaved_model_then_it_is_a_dead_letter_and_the_batch_goes_on(
    kafka_settings: KafkaSettings,
    sqlite_engine: Engine,
) -> None:
    provision_contract_topics(kafka_settings)
    migrate.upgrade(sqlite_engine)
    tenant = f"orphan-{uuid.uuid4().hex[:8]}"
    start_at_the_end(kafka_settings, f"sink-{tenant}")
    record = an_upsert(
        tenant=tenant, kind=EntityKind.RECORD, model="nowhere", sf_id="a00000000000001AAA"
    )
    fine = an_upsert(tenant=tenant)
    produce(kafka_settings, GATHER_RECORDS, [(record.key, record.model_dump_json().encode())])
    produce(kafka_settings, GATHER_ACCOUNTS, [(fine.key, fine.model_dump_json().encode())])
    sink = Sink(
        SqlStore.for_engine(sqlite_engine),
        kafka_settings,
        SinkSettings(group_id=f"sink-{tenant}"),
        now=lambda: datetime(2026, 11, 28, tzinfo=UTC),
    )
    dlq = ChangesReader(kafka_settings, GATHER_RECORDS + ".dlq")
    with running(sink):
        assert wait_until(lambda: _count(sqlite_engine, tenant) == 1, timeout=60)
        dlq.poll_for(5)
    dlq.close()

    letters = [json.loads(v) for k, v in dlq.messages if k.startswith(tenant)]
    assert [letter["stage"] for letter in letters] == ["sink.write"]
    assert "IntegrityError" in letters[0]["error"]
