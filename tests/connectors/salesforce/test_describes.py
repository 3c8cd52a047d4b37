"""Publishing an object's types waits for Kafka only as long as the listener's ack timeout: past
it the tenant counts as waiting for Kafka (and stops taking events) instead of hanging in the
publish for the whole delivery timeout."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest
import structlog

from connectors.kafka.producer import AsyncProducer
from connectors.kafka.settings import KafkaSettings
from connectors.salesforce.auth import authenticator_for, http_session
from connectors.salesforce.describes import SchemaPublisher
from connectors.salesforce.kafka_gate import KafkaUnacknowledged
from connectors.salesforce.orgapi import OrgApi
from sfsim.testing import ThreadedSfsim
from tests.connectors.salesforce.builders import a_tenant, sfsim_environ
from tests.support.forward import Forward


def test_given_kafka_not_acknowledging_when_types_are_published_then_the_tenant_waits_for_kafka(
    org: ThreadedSfsim, kafka_settings: KafkaSettings
) -> None:
    session = http_session(org.credentials.ca)
    auth = authenticator_for(a_tenant(org).salesforce, sfsim_environ(org), session)
    api = OrgApi(auth, session, "61.0", sleep=time.sleep)
    broker_port = int(kafka_settings.bootstrap_servers.rsplit(":", 1)[1])

    async def publish(gate: Forward) -> None:
        away = KafkaSettings(bootstrap_servers=f"127.0.0.1:{gate.port}")
        config = away.producer_config() | {"message.timeout.ms": 5000}
        producer = AsyncProducer(config, asyncio.get_running_loop())
        publisher = SchemaPublisher(
            "acme",
            api,
            producer,
            "sf.schemas",
            lambda: datetime.now(UTC),
            structlog.get_logger(),
            ack_timeout=0.5,
        )
        try:
            with pytest.raises(KafkaUnacknowledged, match="Account's types"):
                await publisher.publish_all(["Account"])
        finally:
            await producer.close(timeout=6)

    with Forward(broker_port) as gate:  # refuses every connection: no acknowledgement comes
        asyncio.run(publish(gate))
