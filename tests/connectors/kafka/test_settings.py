"""Client settings every process shares: idempotent producer, murmur2, offsets after the work."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from connectors.kafka.settings import KafkaSettings


def test_given_defaults_when_building_producer_config_then_it_is_idempotent_acks_all_murmur2() -> (
    None
):
    config = KafkaSettings(bootstrap_servers="b:9092").producer_config()

    assert config["enable.idempotence"] is True
    assert config["acks"] == "all"
    assert config["partitioner"] == "murmur2_random"
    assert config["compression.type"] == "lz4"


def test_given_a_consumer_config_then_nothing_is_committed_but_by_the_caller() -> None:
    config = KafkaSettings().consumer_config("gather-sink")

    assert config["group.id"] == "gather-sink"
    assert config["enable.auto.commit"] is False
    assert "enable.auto.offset.store" not in config
    assert config["isolation.level"] == "read_committed"


def test_given_environment_variables_when_settings_load_then_they_are_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "k1:9093,k2:9093")
    monkeypatch.setenv("KAFKA_PARTITIONS", "24")

    settings = KafkaSettings()

    assert settings.bootstrap_servers == "k1:9093,k2:9093"
    assert settings.partitions == 24


def test_given_a_sasl_password_then_it_is_hidden_in_the_settings_repr() -> None:
    settings = KafkaSettings(
        sasl_mechanism="SCRAM-SHA-512", sasl_username="u", sasl_password=SecretStr("hunter2")
    )

    assert "hunter2" not in repr(settings)
    assert settings.common_config()["sasl.password"] == "hunter2"
