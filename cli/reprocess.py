"""`gather-sync reprocess --tenant T`: re-evaluate a tenant's records from the worker's state
(its changelog topics) and publish the upserts, for when the rules or the store changed."""

from __future__ import annotations

import argparse
import sys
import uuid
from functools import partial

from cli.kafka_io import SyncPublisher
from cli.progress import progress
from cli.tenants import applied_config
from connectors.kafka.compacted import read_compacted
from connectors.kafka.settings import KafkaSettings
from schemas.contract import Topics, owned_by, schema_key
from schemas.gather import GatherUpsert
from streams.control import SchemaView
from streams.reprocess import decode_deals, decode_records, reevaluate, table_key
from streams.settings import WorkerSettings


def _state(kafka: KafkaSettings, topic: str, tenant: str, label: str) -> dict[str, bytes]:
    return read_compacted(
        kafka.consumer_config(f"gather-sync-reprocess-{uuid.uuid4().hex[:8]}"),
        topic,
        keep=lambda key: owned_by(table_key(key), tenant),
        progress=partial(progress, label),
    )


def _publish(kafka: KafkaSettings, upserts: list[GatherUpsert]) -> SyncPublisher:
    publisher = SyncPublisher(kafka.producer_config())
    for n, upsert in enumerate(upserts, 1):
        topic = Topics.of(kafka).gather_topic(upsert.kind)
        publisher.send(topic, upsert.key, upsert.model_dump_json().encode())
        if n % 1000 == 0 or n == len(upserts):
            progress("upserts", n, len(upserts))
    publisher.close()
    return publisher


def reprocess(args: argparse.Namespace) -> int:
    kafka, worker = KafkaSettings(), WorkerSettings()
    config = applied_config(kafka, args.tenant)
    if config is None:
        print(
            f"tenant '{args.tenant}' is not applied; run `gather-sync tenants apply FILE`",
            file=sys.stderr,
        )
        return 1
    tenant = config.tenant
    records = decode_records(_state(kafka, worker.changelog("records"), tenant, "state: records"))
    deals = decode_deals(_state(kafka, worker.changelog("deals"), tenant, "state: deals"))
    schemas = _state(kafka, Topics.of(kafka).sf_schemas, tenant, "types: sf.schemas")
    if missing := [o for o in config.filtered_fields() if schema_key(tenant, o) not in schemas]:
        print(
            f"tenant '{tenant}': no describe types for {', '.join(missing)} on sf.schemas yet; "
            "filters need them (is the listener running for this tenant?)",
            file=sys.stderr,
        )
        return 1
    upserts = reevaluate(config, records, deals, SchemaView(schemas))
    publisher = _publish(kafka, upserts)
    failed = len(upserts) - publisher.acknowledged
    print(
        f"tenant '{config.tenant}': {len(records)} records in the worker's state "
        f"({worker.app_id}), {len(upserts)} upserts published, {failed} failed"
    )
    return 0 if failed == 0 else 1
