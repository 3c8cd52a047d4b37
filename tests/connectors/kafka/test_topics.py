"""Topic provisioning on the real broker: creates, grows and reconfigures, and is idempotent."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource

from connectors.kafka.settings import KafkaSettings
from connectors.kafka.topics import TopicSpec, contract_topics, provision_topics
from schemas.contract import Topics
from schemas.gather import EntityKind
from tests.connectors.salesforce.harness import wait_until


def _specs(prefix: str, partitions: int = 3, retention: str = "3600000") -> list[TopicSpec]:
    return [
        TopicSpec(
            f"{prefix}.changes", partitions, {"cleanup.policy": "delete", "retention.ms": retention}
        ),
        TopicSpec(f"{prefix}.tenants", 1, {"cleanup.policy": "compact"}),
    ]


def _config(admin: AdminClient, topic: str, key: str) -> str:
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    entries = next(iter(admin.describe_configs([resource]).values())).result(timeout=30)
    return str(entries[key].value)


def test_given_the_contract_table_then_every_topic_has_its_cleanup_policy() -> None:
    specs = {s.name: s for s in contract_topics(KafkaSettings(partitions=12))}

    assert specs["sf.changes"].configs["retention.ms"] == str(7 * 24 * 3600 * 1000)
    assert specs["gather.tenants"].configs["cleanup.policy"] == "compact"
    assert specs["sf.checkpoints"].configs["cleanup.policy"] == "compact"
    assert specs["gather.users"].partitions == 12
    assert {"sf.changes.dlq", "gather.accounts.dlq", "gather.records.dlq"} <= set(specs)


def test_given_no_topics_when_provisioned_twice_then_the_second_run_changes_nothing(
    kafka_settings: KafkaSettings,
) -> None:
    admin = AdminClient(kafka_settings.admin_config())
    specs = _specs(f"t{uuid.uuid4().hex[:8]}")

    first = provision_topics(admin, specs, replication_factor=1)
    second = provision_topics(admin, specs, replication_factor=1)

    assert first.created == [s.name for s in specs]
    assert second.created == [] and second.reconfigured == [] and second.grown == []
    assert second.unchanged == [s.name for s in specs]
    assert _config(admin, specs[1].name, "cleanup.policy") == "compact"


def test_given_a_topic_with_old_settings_when_provisioned_then_it_is_grown_and_reconfigured(
    kafka_settings: KafkaSettings,
) -> None:
    admin = AdminClient(kafka_settings.admin_config())
    prefix = f"t{uuid.uuid4().hex[:8]}"
    provision_topics(admin, _specs(prefix, partitions=2, retention="1000"), replication_factor=1)

    report = provision_topics(admin, _specs(prefix, partitions=4, retention="7200000"), 1)

    topic = f"{prefix}.changes"
    assert report.grown == [topic] and report.reconfigured == [topic]
    # the controller applied both; a broker's answer may trail its metadata by a moment (CI under
    # load read the old retention once)
    assert wait_until(
        lambda: len(admin.list_topics(topic, timeout=30).topics[topic].partitions) == 4
    )
    assert wait_until(lambda: _config(admin, topic, "retention.ms") == "7200000", timeout=30)


def test_given_a_topic_prefix_in_the_settings_then_every_contract_topic_carries_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAFKA_TOPIC_PREFIX", "staging.")  # after import: read when settings are
    settings = KafkaSettings()
    topics = Topics.of(settings)

    names = [t.name for t in contract_topics(settings)]
    names += [topics.gather_topic(kind) for kind in EntityKind]
    names += [topics.sf_schemas, topics.worker_control, topics.dlq(topics.sf_changes)]
    assert names and all(n.startswith("staging.") for n in names)
    assert {t.name for t in contract_topics(KafkaSettings(topic_prefix=""))} >= {"sf.schemas"}
