"""The listener's settings (one frozen class for the deployable); Kafka's are KafkaSettings."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ListenerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LISTENER_", frozen=True, extra="ignore")

    tenants_topic: str | None = Field(
        default=None,
        description="LISTENER_TENANTS_TOPIC: the compacted tenant configs "
        "(unset: gather.tenants, after KAFKA_TOPIC_PREFIX)",
    )
    group_id: str = Field(
        default="gather-sync-listener",
        description="LISTENER_GROUP_ID: replicas sharing tenants share this group",
    )
    salesforce_ca_file: str | None = Field(
        default=None,
        description="LISTENER_SALESFORCE_CA_FILE: a private CA to trust for the "
        "orgs (sfsim's ca.pem); unset trusts the system's CAs",
    )
    checkpoint_interval: float = Field(
        default=1.0, gt=0, description="LISTENER_CHECKPOINT_INTERVAL: seconds"
    )
    connection_timeout: float = Field(
        default=60.0,
        gt=0,
        description="LISTENER_CONNECTION_TIMEOUT: kept for compatibility; a CometD session "
        "now restarts from the checkpoints at its first failed reconnect (streaming.py)",
    )
    session_timeout_ms: int = Field(
        default=10_000,
        ge=6_000,
        description="LISTENER_SESSION_TIMEOUT_MS: how soon a dead "
        "replica's tenants move to the others",
    )
    max_in_flight: int = Field(
        default=5_000,
        ge=1,
        description="LISTENER_MAX_IN_FLIGHT: unacknowledged events per channel before the "
        "tenant's stream waits for Kafka to catch up",
    )
    kafka_ack_timeout: float = Field(
        default=30.0,
        gt=0,
        description="LISTENER_KAFKA_ACK_TIMEOUT: seconds a change may wait for Kafka's "
        "acknowledgement; past it the tenant takes no Salesforce events (logged as waiting for "
        "Kafka) until Kafka acknowledges again, then resumes from its checkpoints",
    )
    restart_base_delay: float = Field(
        default=1.0,
        gt=0,
        description="LISTENER_RESTART_BASE_DELAY: seconds before a tenant stream that failed "
        "unexpectedly is restarted; doubled for each failure in a row, with jitter",
    )
    restart_max_delay: float = Field(
        default=300.0, gt=0, description="LISTENER_RESTART_MAX_DELAY: the cap of that delay"
    )
    pubsub_ping_interval: float = Field(
        default=30.0,
        gt=0,
        description="LISTENER_PUBSUB_PING_INTERVAL: seconds between HTTP/2 pings on a Pub/Sub "
        "connection, so a half-open one (a NAT or load balancer that dropped it) is noticed; "
        "raise it if the server answers GOAWAY too_many_pings",
    )
    pubsub_ping_timeout: float = Field(
        default=20.0,
        gt=0,
        description="LISTENER_PUBSUB_PING_TIMEOUT: seconds a ping may wait for its answer before "
        "the connection is given up and the stream resumes from its checkpoint",
    )
