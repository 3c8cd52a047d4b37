"""The Kafka record contract in one place: topic names, keys and the dead-letter envelope.

Every process (listener, worker, sink, CLI, bench) builds and parses keys and DLQ messages here,
and takes topic names from a `Topics` built from the settings it was given, so a
`KAFKA_TOPIC_PREFIX` set for one process (or one test) is never fixed at import time.
The table this implements is DESIGN.md's "Contracts".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

DLQ_SUFFIX = ".dlq"


class HasTopicPrefix(Protocol):
    """`connectors.kafka.settings.KafkaSettings`, or anything else carrying the prefix."""

    @property
    def topic_prefix(self) -> str: ...


@dataclass(frozen=True)
class Topics:
    """The contract's topic names under one prefix (empty by default)."""

    prefix: str = ""

    @classmethod
    def of(cls, settings: HasTopicPrefix) -> Topics:
        return cls(settings.topic_prefix)

    @property
    def sf_changes(self) -> str:
        return self.prefix + "sf.changes"

    @property
    def sf_checkpoints(self) -> str:
        return self.prefix + "sf.checkpoints"

    @property
    def sf_deals(self) -> str:
        """The worker's repartition of opportunities by their account."""
        return self.prefix + "sf.deals"

    @property
    def sf_schemas(self) -> str:
        """Each synced object's describe types, keyed `tenant:Object` (compacted)."""
        return self.prefix + "sf.schemas"

    @property
    def worker_control(self) -> str:
        """Re-evaluation requests, one per partition, co-partitioned with `sf.changes`."""
        return self.prefix + "worker.control"

    @property
    def gather_accounts(self) -> str:
        return self.prefix + "gather.accounts"

    @property
    def gather_users(self) -> str:
        return self.prefix + "gather.users"

    @property
    def gather_records(self) -> str:
        return self.prefix + "gather.records"

    @property
    def gather_tenants(self) -> str:
        return self.prefix + "gather.tenants"

    def gather_topic(self, kind: str) -> str:
        """The Gather topic of an entity kind (`EntityKind`: account, user, record)."""
        return {
            "account": self.gather_accounts,
            "user": self.gather_users,
            "record": self.gather_records,
        }[str(kind)]

    @property
    def gather_data(self) -> list[str]:
        return [self.gather_accounts, self.gather_users, self.gather_records]

    @staticmethod
    def dlq(topic: str) -> str:
        """The dead-letter topic of a topic."""
        return topic + DLQ_SUFFIX


# --- keys ----------------------------------------------------------------------------------------


def change_key(tenant: str, obj: str, record_id: str) -> str:
    """`sf.changes` and the worker's `records` table: every change of a record in one partition."""
    return f"{tenant}:{obj}:{record_id}"


def upsert_key(tenant: str, kind: str, sf_id: str) -> str:
    """The Gather topics: every upsert of one entity in one partition (kind: account, user,
    record)."""
    return f"{tenant}:{kind}:{sf_id}"


def schema_key(tenant: str, obj: str) -> str:
    """`sf.schemas`: one object's describe types per tenant."""
    return f"{tenant}:{obj}"


def checkpoint_key(tenant: str, channel: str) -> str:
    """`sf.checkpoints`: one replay position per tenant and CometD channel."""
    return f"{tenant}:{channel}"


def owned_by(key: str, tenant: str) -> bool:
    """Whether a contract key (or a worker table's key) is the tenant's."""
    return key.startswith(f"{tenant}:")


def tenant_of(key: bytes | str | None) -> str:
    """The tenant a key belongs to (every contract key starts with it); '' when there is none."""
    if key is None:
        return ""
    text = key.decode(errors="replace") if isinstance(key, bytes) else key
    return text.split(":", 1)[0]


# --- the dead-letter envelope --------------------------------------------------------------------


class DeadLetter(BaseModel):
    """What a DLQ message holds: which stage gave up, why, and the original bytes as text."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    stage: str = Field(description="e.g. listener.normalize, worker.parse, sink.write")
    error: str = Field(description="the reason, for a person to read")
    original: str = Field(description="the original message value, decoded as UTF-8")

    @classmethod
    def of(cls, stage: str, error: str, original: bytes | str | None) -> DeadLetter:
        text = original.decode(errors="replace") if isinstance(original, bytes) else original
        return cls(stage=stage, error=error[:1000], original=text or "")

    def encode(self) -> bytes:
        return json.dumps(self.model_dump()).encode()

    @classmethod
    def decode(cls, value: bytes | str) -> DeadLetter:
        return cls.model_validate(_loads(value))


def _loads(value: bytes | str) -> Any:
    return json.loads(value)
