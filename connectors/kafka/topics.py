"""The topics of DESIGN.md's contract table, provisioned idempotently through the AdminClient.

Provisioning creates missing topics, adds partitions to topics that have fewer than declared,
and sets the declared configs on existing ones (incrementally, leaving other configs alone).
It never removes partitions: Kafka cannot, and a change of partition count moves keys.
https://kafka.apache.org/documentation/#topicconfigs
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
)

from connectors.kafka.errors import TopicProvisionError
from connectors.kafka.settings import KafkaSettings
from schemas.contract import Topics

_DLQ_RETENTION_MS = 30 * 24 * 3600 * 1000


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    configs: dict[str, str] = field(default_factory=dict)


def contract_topics(settings: KafkaSettings) -> list[TopicSpec]:
    """DESIGN.md's table: data topics, the compacted config, checkpoint and schema topics, the
    worker's control topic (co-partitioned with `sf.changes`), and DLQs."""
    n, t = settings.partitions, Topics.of(settings)
    delete = {"cleanup.policy": "delete"}
    compact = {"cleanup.policy": "compact", "min.compaction.lag.ms": "0"}
    data = [
        TopicSpec(t.sf_changes, n, delete | {"retention.ms": str(settings.changes_retention_ms)}),
        TopicSpec(t.gather_accounts, n, delete),
        TopicSpec(t.gather_users, n, delete),
        TopicSpec(t.gather_records, n, delete),
        TopicSpec(t.sf_deals, n, delete),
        TopicSpec(t.worker_control, n, delete),
    ]
    control = [
        TopicSpec(t.gather_tenants, n, compact),
        TopicSpec(t.sf_checkpoints, n, compact),
        TopicSpec(t.sf_schemas, n, compact),
    ]
    dlq_configs = delete | {"retention.ms": str(_DLQ_RETENTION_MS)}
    dlqs = [TopicSpec(t.dlq(s.name), 1, dlq_configs) for s in [*data[:5], control[0]]]
    return data + control + dlqs


@dataclass
class ProvisionReport:
    created: list[str] = field(default_factory=list)
    grown: list[str] = field(default_factory=list)
    reconfigured: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def provision_topics(
    admin: AdminClient, specs: Iterable[TopicSpec], replication_factor: int, timeout: float = 30.0
) -> ProvisionReport:
    specs = list(specs)
    report = ProvisionReport()
    known = admin.list_topics(timeout=timeout).topics
    missing = [s for s in specs if s.name not in known]
    existed = _create(admin, missing, replication_factor, timeout)
    report.created = [s.name for s in missing if s.name not in existed]
    for spec in specs:
        if spec.name in known or spec.name in existed:
            _reconcile(admin, spec, _partition_count(admin, spec.name, timeout), report, timeout)
    return report


def _create(admin: AdminClient, specs: list[TopicSpec], rf: int, timeout: float) -> set[str]:
    """Create topics; return those that existed after all. The client's metadata can lag a
    creation by another replica (or a moment ago), and such a topic must still be reconciled."""
    if not specs:
        return set()
    new = [
        NewTopic(s.name, num_partitions=s.partitions, replication_factor=rf, config=s.configs)
        for s in specs
    ]
    existed = set()
    for name, future in admin.create_topics(new, request_timeout=timeout).items():
        try:
            future.result()
        except KafkaException as e:
            if e.args[0].name() != "TOPIC_ALREADY_EXISTS":
                raise TopicProvisionError(f"cannot create topic {name}: {e}") from e
            existed.add(name)
    return existed


def _partition_count(admin: AdminClient, topic: str, timeout: float) -> int:
    return len(admin.list_topics(topic, timeout=timeout).topics[topic].partitions)


def _reconcile(
    admin: AdminClient, spec: TopicSpec, partitions: int, report: ProvisionReport, timeout: float
) -> None:
    changed = False
    if partitions < spec.partitions:
        _wait(
            admin.create_partitions([NewPartitions(spec.name, spec.partitions)]), spec.name, timeout
        )
        report.grown.append(spec.name)
        changed = True
    if _configs_differ(admin, spec, timeout):
        resource = ConfigResource(
            ConfigResource.Type.TOPIC,
            spec.name,
            incremental_configs=[
                ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET)
                for k, v in spec.configs.items()
            ],
        )
        _wait(admin.incremental_alter_configs([resource]), spec.name, timeout)
        report.reconfigured.append(spec.name)
        changed = True
    if not changed:
        report.unchanged.append(spec.name)


def _configs_differ(admin: AdminClient, spec: TopicSpec, timeout: float) -> bool:
    resource = ConfigResource(ConfigResource.Type.TOPIC, spec.name)
    current = next(iter(admin.describe_configs([resource]).values())).result(timeout=timeout)
    return any(current[k].value != v if k in current else True for k, v in spec.configs.items())


def _wait(futures: Mapping[Any, Future[Any]], name: str, timeout: float) -> None:
    for future in futures.values():
        try:
            future.result(timeout=timeout)
        except KafkaException as e:
            raise TopicProvisionError(f"cannot update topic {name}: {e}") from e


def provision_contract_topics(settings: KafkaSettings, timeout: float = 30.0) -> ProvisionReport:
    admin = AdminClient(settings.admin_config())
    specs = contract_topics(settings)
    return provision_topics(admin, specs, settings.replication_factor, timeout)
