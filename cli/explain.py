"""`gather-sync explain --tenant T --object Account --id 001...`: why one record is, or is not,
in Gather. Reads the worker's state as `reprocess` does (its changelog topics), the object's
describe types from `sf.schemas`, the store's rows, the DLQs and the lag of the worker's and
the sink's groups; applies the tenant's rules with the worker's own functions
(`streams.explain`). Settings: KAFKA_*, WORKER_APP_ID, SINK_GROUP_ID, GATHER_DATABASE_URL."""

from __future__ import annotations

import argparse
import uuid
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from sqlalchemy import Engine

from cli.explain_text import render
from cli.tenants import applied_config
from connectors.gather import lookup
from connectors.gather.engine import make_engine
from connectors.gather.settings import StoreSettings
from connectors.gather.sink import SinkSettings
from connectors.gather.store import TABLES
from connectors.kafka.compacted import read_compacted
from connectors.kafka.lag_collector import LagCollector, LagFilter
from connectors.kafka.settings import KafkaSettings
from schemas.contract import DeadLetter, Topics, change_key, schema_key, upsert_key
from schemas.gather import EntityKind, GatherUpsert
from streams.control import SchemaView, partition_of
from streams.evaluator import account_key
from streams.explain.compare import Findings
from streams.explain.model import DeadLetterView, Explanation, StoreRow
from streams.explain.report import explain as explain_record
from streams.explain.rules import Inputs, decide
from streams.reprocess import decode_deals, decode_records, table_key
from streams.rules.entities import section_of
from streams.settings import WorkerSettings

KINDS = {"Account": EntityKind.ACCOUNT, "Contact": EntityKind.USER}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--object", required=True, help="Account, Contact or a custom object")
    parser.add_argument("--id", required=True, help="the Salesforce record id")
    parser.add_argument("--json", action="store_true", help="print the explanation as JSON")


def explain(args: argparse.Namespace) -> int:
    sources = Sources.from_environment()
    found = sources.explain(args.tenant, args.object, args.id)
    print(found.model_dump_json(indent=2) if args.json else render(found))
    return 0


@dataclass
class Sources:
    """Where an explanation is read from (the dashboard keeps one for its search box)."""

    kafka: KafkaSettings
    worker: WorkerSettings
    sink_group: str
    engine: Engine
    _lag: LagCollector | None = field(default=None, repr=False)

    @classmethod
    def from_environment(cls) -> Sources:
        store = StoreSettings()
        engine = make_engine(store.database_url, store.pool_size)
        return cls(KafkaSettings(), WorkerSettings(), SinkSettings().group_id, engine)

    def explain(self, tenant: str, obj: str, record_id: str) -> Explanation:
        config = applied_config(self.kafka, tenant)
        key = change_key(tenant, obj, record_id)
        state = decode_records(self._state(self.worker.changelog("records"), key)).get(key)
        deals: dict[str, bool] = {}
        if obj == "Account":
            akey = account_key(tenant, record_id)
            deals = decode_deals(self._state(self.worker.changelog("deals"), akey)).get(akey, {})
        types = SchemaView(self._read(Topics.of(self.kafka).sf_schemas, {schema_key(tenant, obj)}))
        inputs = Inputs(config, obj, record_id, state, types(tenant, obj), deals)
        inputs = replace(inputs, account_rows=self._account_rows(inputs))
        kind = self._kind(inputs)
        rows = self._rows(inputs, kind) if kind else []
        letters = self._dead_letters(tenant, obj, record_id, kind)
        return explain_record(inputs, Findings(rows, letters, self._lag_of_stages()))

    def _read(self, topic: str, keys: set[str]) -> dict[str, bytes]:
        config = self.kafka.consumer_config(f"gather-sync-explain-{uuid.uuid4().hex[:8]}")
        return read_compacted(config, topic, keep=lambda k: table_key(k) in keys)

    def _state(self, topic: str, key: str) -> dict[str, bytes]:
        """One key of a worker's changelog. A table's entries live in the partition of the
        source message's key (murmur2, as every producer here partitions), so that partition is
        read first; the whole topic only when the key is not there (never seen, or placed
        otherwise), so a wrong guess costs time, never a wrong answer."""
        config = self.kafka.consumer_config(f"gather-sync-explain-{uuid.uuid4().hex[:8]}")
        keep = lambda k: table_key(k) == key  # noqa: E731
        found = read_compacted(config, topic, keep=keep, pick=partial(partition_of, key))
        return found or self._read(topic, {key})

    def _kind(self, inputs: Inputs) -> EntityKind | None:
        if inputs.config is None or section_of(inputs.config, inputs.object) is None:
            return None
        return KINDS.get(inputs.object, EntityKind.RECORD)

    def _rows(self, inputs: Inputs, kind: EntityKind) -> list[StoreRow]:
        assert inputs.config is not None
        section = section_of(inputs.config, inputs.object)
        decision = decide(inputs)
        upsert = decision if isinstance(decision, GatherUpsert) else None
        found = lookup.rows_of(
            self.engine,
            inputs.config.tenant,
            kind,
            inputs.record_id,
            gather_id=upsert.gather_id if upsert else None,
            match_trait=getattr(section, "match_trait", None),
            model=getattr(section, "model", None),
        )
        return [store_row(kind, row) for row in found]

    def _account_rows(self, inputs: Inputs) -> list[StoreRow]:
        link = inputs.state.fields.get("AccountId") if inputs.state else None
        if inputs.object != "Contact" or link is None or not link.value or not inputs.config:
            return []
        found = lookup.rows_of(
            self.engine, inputs.config.tenant, EntityKind.ACCOUNT, str(link.value)
        )
        return [store_row(EntityKind.ACCOUNT, row) for row in found]

    def _dead_letters(
        self, tenant: str, obj: str, record_id: str, kind: EntityKind | None
    ) -> list[DeadLetterView]:
        topics = Topics.of(self.kafka)
        wanted = {topics.dlq(topics.sf_changes): change_key(tenant, obj, record_id)}
        if kind is not None:
            wanted[topics.dlq(topics.gather_topic(kind))] = upsert_key(
                tenant, kind.value, record_id
            )
        letters = []
        for topic, key in wanted.items():
            for raw in self._read(topic, {key}).values():
                letter = DeadLetter.decode(raw)
                letters.append(DeadLetterView(topic=topic, stage=letter.stage, error=letter.error))
        return letters

    def _lag_of_stages(self) -> dict[str, int]:
        """Unread messages of the worker's and the sink's consumer groups."""
        self._lag = self._lag or LagCollector(self.kafka)
        groups = {self.worker.app_id: "worker", self.sink_group: "sink"}
        lag = dict.fromkeys(groups.values(), 0)
        for sample in self._lag.collect(LagFilter(groups=tuple(groups))):
            if sample.group in groups:
                lag[groups[sample.group]] += sample.lag
        return lag


def store_row(kind: EntityKind, row: dict[str, Any]) -> StoreRow:
    return StoreRow(
        table=TABLES[kind].name,
        id=row["id"],
        sf_id=row["sf_id"],
        deleted=bool(row["deleted"]),
        deleted_reason=row["deleted_reason"],
        traits=dict(row["traits"] or {}),
        trait_versions=dict(row["trait_versions"] or {}),
        account_id=row.get("account_id"),
        sf_account_id=row.get("sf_account_id"),
    )
