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
from connectors.kafka.topics import GATHER_TOPIC_BY_KIND
from schemas.gather import GatherUpsert
from streams.reprocess import decode_deals, decode_records, reevaluate, table_key
from streams.settings import WorkerSettings


def _state(
    kafka: KafkaSettings, worker: WorkerSettings, table: str, tenant: str
) -> dict[str, bytes]:
    return read_compacted(
        kafka.consumer_config(f"gather-sync-reprocess-{uuid.uuid4().hex[:8]}"),
        worker.changelog(table),
        keep=lambda key: table_key(key).startswith(f"{tenant}:"),
        progress=partial(progress, f"state: {table}"),
    )


def _publish(kafka: KafkaSettings, upserts: list[GatherUpsert]) -> SyncPublisher:
    publisher = SyncPublisher(kafka.producer_config())
    for n, upsert in enumerate(upserts, 1):
        topic = GATHER_TOPIC_BY_KIND[upsert.kind]
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
    records = decode_records(_state(kafka, worker, "records", config.tenant))
    deals = decode_deals(_state(kafka, worker, "deals", config.tenant))
    upserts = reevaluate(config, records, deals)
    publisher = _publish(kafka, upserts)
    failed = len(upserts) - publisher.acknowledged
    print(
        f"tenant '{config.tenant}': {len(records)} records in the worker's state "
        f"({worker.app_id}), {len(upserts)} upserts published, {failed} failed"
    )
    return 0 if failed == 0 else 1
