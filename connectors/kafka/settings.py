"""How every gather-sync process reaches Kafka, and the client settings all of them share.

Producers use the Java client's murmur2 partitioner (librdkafka `murmur2_random`), so
confluent-kafka (the listener) and aiokafka (Faust) put a key in the same partition:
https://github.com/confluentinc/librdkafka/blob/master/CONFIGURATION.md (`partitioner`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaSettings(BaseSettings):
    """Connection and topic defaults; each field reads the environment variable in its doc."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_", frozen=True, extra="ignore")

    bootstrap_servers: str = Field(
        default="127.0.0.1:9092", description="KAFKA_BOOTSTRAP_SERVERS: host:port[,host:port]"
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", description="KAFKA_SECURITY_PROTOCOL"
    )
    sasl_mechanism: str | None = Field(
        default=None, description="KAFKA_SASL_MECHANISM, e.g. SCRAM-SHA-512"
    )
    sasl_username: str | None = Field(default=None, description="KAFKA_SASL_USERNAME")
    sasl_password: SecretStr | None = Field(default=None, description="KAFKA_SASL_PASSWORD")
    client_id: str = Field(default="gather-sync", description="KAFKA_CLIENT_ID")
    compression: Literal["none", "gzip", "snappy", "lz4", "zstd"] = Field(
        default="lz4", description="KAFKA_COMPRESSION: producer compression.type"
    )
    linger_ms: int = Field(default=5, ge=0, description="KAFKA_LINGER_MS: producer batching delay")
    delivery_timeout_ms: int = Field(
        default=600_000,
        ge=0,
        description="KAFKA_DELIVERY_TIMEOUT_MS: how long a produced message may wait for the "
        "broker (down, restarting) before it is reported failed (librdkafka message.timeout.ms; "
        "0: never). Failed sends are transient and sent again by their caller; the listener "
        "stops taking events long before (LISTENER_KAFKA_ACK_TIMEOUT)",
    )
    partitions: int = Field(
        default=6, ge=1, description="KAFKA_PARTITIONS: partitions of data topics"
    )
    replication_factor: int = Field(
        default=1, ge=1, description="KAFKA_REPLICATION_FACTOR: 3 on a production cluster"
    )
    topic_prefix: str = Field(
        default="",
        pattern=r"^[A-Za-z0-9._-]*$",
        description="KAFKA_TOPIC_PREFIX: put before every topic name, so several environments "
        "(or test runs) share one cluster without reading each other's topics",
    )
    changes_retention_ms: int = Field(
        default=7 * 24 * 3600 * 1000, description="KAFKA_CHANGES_RETENTION_MS: sf.changes retention"
    )

    def common_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap_servers,
            "client.id": self.client_id,
            "security.protocol": self.security_protocol,
        }
        if self.sasl_mechanism:
            config["sasl.mechanism"] = self.sasl_mechanism
            config["sasl.username"] = self.sasl_username or ""
            config["sasl.password"] = (
                self.sasl_password.get_secret_value() if self.sasl_password else ""
            )
        return config

    def producer_config(self) -> dict[str, Any]:
        """Idempotent, acks=all: a retried send is written once and only after every in-sync
        replica has it. https://kafka.apache.org/documentation/#producerconfigs_enable.idempotence
        """
        return self.common_config() | {
            "enable.idempotence": True,
            "acks": "all",
            "compression.type": self.compression,
            "linger.ms": self.linger_ms,
            "message.timeout.ms": self.delivery_timeout_ms,
            "partitioner": "murmur2_random",
        }

    def consumer_config(self, group_id: str) -> dict[str, Any]:
        """No offset is committed on the caller's behalf: a consumer that commits (the sink, the
        listener's tenants) commits the offsets of work that is done, and the readers (replay,
        lag, reprocess, the run summary) commit nothing."""
        return self.common_config() | {
            "group.id": group_id,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "partition.assignment.strategy": "cooperative-sticky",
        }

    def admin_config(self) -> dict[str, Any]:
        return self.common_config()
