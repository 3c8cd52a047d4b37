"""`sf.schemas` from the listener: each synced object's describe types, on the broker before any
change of the object, and again whenever a change carries a field the last describe lacked.

The worker compares filter values by these types, so an object's types must reach Kafka first:
every publish here waits for the broker's acknowledgement before the caller produces changes.
A field Salesforce sends that a fresh describe still does not list (a custom address part, say)
is remembered, so it costs one describe, not one per change.
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_describe.htm
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connectors.kafka.producer import AsyncProducer, DeliveryFailed
from connectors.salesforce.classifier import Decision
from connectors.salesforce.errors import SalesforceApiError
from connectors.salesforce.kafka_gate import KafkaUnacknowledged
from connectors.salesforce.orgapi import OrgApi
from schemas.changes import SalesforceChange
from schemas.describe import ObjectSchema

Describes = dict[str, dict[str, str] | None]  # object -> {field: describe type}; None: no object


def unseen_fields(
    expected: Mapping[str, set[str]], changes: Iterable[SalesforceChange]
) -> dict[str, set[str]]:
    """Per described object, the fields its changes carry that the last describe did not list
    (and that were not looked up already). Objects never described are not asked about."""
    unseen: dict[str, set[str]] = {}
    for change in changes:
        known = expected.get(change.object)
        if known is None:
            continue
        new = (set(change.fields) | set(change.changed_fields)) - known
        if new:
            unseen.setdefault(change.object, set()).update(new)
    return unseen


@dataclass
class SchemaPublisher:
    """Describes a tenant's objects and publishes each as an `ObjectSchema`, keyed
    `tenant:Object` on the compacted `sf.schemas`."""

    tenant: str
    orgapi: OrgApi
    producer: AsyncProducer
    topic: str
    clock: Callable[[], datetime]
    log: Any  # the stream's structlog logger, the tenant bound
    # object -> the last describe's fields plus fields looked up since that it did not list
    expected: dict[str, set[str]] = field(default_factory=dict)
    # how long a publish waits for Kafka's acknowledgement before the tenant counts as waiting
    # for Kafka (LISTENER_KAFKA_ACK_TIMEOUT); None waits as long as the delivery timeout
    ack_timeout: float | None = None

    async def publish_all(self, objects: Iterable[str]) -> Describes:
        """At subscribe time: every object's types, acknowledged, before any change of it."""
        describes: Describes = {}
        for obj in objects:
            describes[obj] = await self._publish(obj, fresh=False)
        return describes

    async def ensure(self, changes: list[SalesforceChange]) -> None:
        """Before these changes are produced: a new describe of each object that gained fields."""
        for obj, names in unseen_fields(self.expected, changes).items():
            self.log.info(
                "a change carries fields the last describe lacked: describing again",
                object=obj,
                fields=sorted(names),
            )
            await self._publish(obj, fresh=True)
            self.expected[obj] |= names

    async def _publish(self, obj: str, fresh: bool) -> dict[str, str] | None:
        types = await asyncio.to_thread(self.orgapi.field_types_if_exists, obj, fresh)
        if types is None:
            self.log.warning("the org has no such object; no types published", object=obj)
            return None
        schema = ObjectSchema(tenant=self.tenant, object=obj, fields=types, read_at=self.clock())
        sent = self.producer.send(self.topic, schema.key, schema.model_dump_json().encode())
        try:
            await asyncio.wait_for(sent, self.ack_timeout)
        except DeliveryFailed as e:
            raise SalesforceApiError(f"Kafka refused {obj}'s types: {e}", Decision.RETRY) from e
        except TimeoutError as e:
            raise KafkaUnacknowledged(
                f"no acknowledgement of {obj}'s types in {self.ack_timeout} s"
            ) from e
        self.expected[obj] = set(types)
        self.log.info("types published", object=obj, fields=len(types), digest=schema.digest()[:12])
        return types
