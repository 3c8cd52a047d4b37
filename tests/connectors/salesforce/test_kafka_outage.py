"""A tenant's stream while Kafka cannot acknowledge: a broker of the test's own is stopped
mid-stream (as a rolling restart would) for longer than the producer's delivery timeout. The
stream stops taking Salesforce events (off CometD, said once in the log and in its gauge), its
checkpoint never passes a change Kafka did not acknowledge, the sends that timed out are not
lost, and once the broker is back it says so and resumes from its checkpoints: every change
made before, during and after the outage reaches `sf.changes`. A tenant stopped meanwhile (a
rebalance, a new config) stops at once instead of waiting for Kafka."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from connectors.kafka.settings import KafkaSettings
from sfsim.testing import ThreadedSfsim
from tests.connectors.salesforce.builders import a_tenant
from tests.connectors.salesforce.harness import (
    ChangesReader,
    change_keys,
    event_keys,
    unique,
)
from tests.connectors.salesforce.streams import arrived, eventually, polling, running_stream
from tests.support.private_broker import PrivateBroker

DELIVERY_TIMEOUT_MS = 3_000  # shorter than the outage: sends in flight fail (_MSG_TIMED_OUT)


@pytest.fixture(scope="module")
def broker() -> Iterator[PrivateBroker]:
    """Each test leaves it running."""
    with PrivateBroker() as running:
        yield running


def waiting_gauge(tenant: str) -> float | None:
    return REGISTRY.get_sample_value("gather_sync_listener_waiting_for_kafka", {"tenant": tenant})


def create(org: ThreadedSfsim, count: int, name: str) -> list[str]:
    return org.call(
        lambda: [org.state.org.create("Account", {"Name": f"{name} {n}"}) for n in range(count)]
    )


def test_given_the_broker_down_mid_stream_then_the_stream_stops_waits_and_resumes_losing_nothing(
    broker: PrivateBroker, org: ThreadedSfsim
) -> None:
    kafka = KafkaSettings(bootstrap_servers=broker.bootstrap, partitions=1)
    tenant = unique("kafkadown")
    reader = ChangesReader(kafka)
    seen: dict[str, Any] = {}

    async def scenario() -> tuple[set[tuple[str, tuple[int, int, int]]], int]:
        producer = kafka.producer_config() | {"message.timeout.ms": DELIVERY_TIMEOUT_MS}
        async with running_stream(
            org, kafka, a_tenant(org, tenant), producer, ack_timeout=1.0
        ) as streaming:
            assert await eventually(lambda: polling(org) == 1)
            start = org.call(lambda: org.state.log.last_replay_id)
            create(org, 3, "Before")
            await arrived(reader, tenant, event_keys(org, start, tenant), 30)
            acknowledged = org.call(lambda: org.state.log.last_replay_id)

            await asyncio.to_thread(broker.stop)
            down = time.monotonic()
            create(org, 3, "Taken")  # received and sent, never acknowledged: they time out
            seen["gauge_down"] = await eventually(lambda: waiting_gauge(tenant) == 1, timeout=20)
            seen["off_cometd"] = [polling(org) for _ in range(5)]  # over a second: no poll held
            create(org, 3, "Untaken")  # while the stream is off CometD
            await asyncio.sleep(
                max(0.0, DELIVERY_TIMEOUT_MS / 1000 + 1 - (time.monotonic() - down))
            )
            checkpoints = streaming.stream.deps.checkpoints
            seen["checkpoint_down"] = max(c.replay_id for c in checkpoints.values())
            seen["polling_down"] = polling(org)

            await asyncio.to_thread(broker.start)
            seen["outage_s"] = time.monotonic() - down
            assert await eventually(lambda: polling(org) == 1, timeout=60)
            create(org, 2, "After")
            expected = event_keys(org, start, tenant)
            changes = await arrived(reader, tenant, expected, 60)
            seen["gauge_up"] = waiting_gauge(tenant)
            return expected - change_keys(changes), acknowledged

    with capture_logs() as logs:
        lost, acknowledged = asyncio.run(scenario())
    reader.close()
    events = [e["event"] for e in logs if e.get("tenant") == tenant]
    waits = [e for e in logs if e["event"].startswith("waiting for Kafka")]

    assert lost == set()
    assert seen["off_cometd"] == [0] * 5 and seen["polling_down"] == 0  # took no events
    assert seen["checkpoint_down"] <= acknowledged  # never past an unacknowledged change
    assert (seen["gauge_down"], seen["gauge_up"]) == (True, 0.0)
    assert events.count("waiting for Kafka: taking no Salesforce events until it acknowledges") == 1
    assert events.count("Kafka acknowledging again: resuming from the checkpoints") == 1
    assert waits[0]["tenant"] == tenant and seen["outage_s"] > DELIVERY_TIMEOUT_MS / 1000


def test_given_the_broker_down_with_sends_in_flight_when_the_tenant_is_stopped_then_at_once(
    broker: PrivateBroker, org: ThreadedSfsim
) -> None:
    # A rebalance's revoke stops the tenant on the consumer's thread: its two drain flushes of
    # 30 s each held the group's rejoin for a minute while the broker was away.
    kafka = KafkaSettings(bootstrap_servers=broker.bootstrap, partitions=1)

    async def scenario() -> tuple[int, float]:
        async with running_stream(org, kafka, a_tenant(org, unique("stopped"))) as streaming:
            assert await eventually(lambda: polling(org) == 1)
            await asyncio.to_thread(broker.stop)
            create(org, 3, "In flight")
            await asyncio.sleep(3)  # received and sent; the ack timeout (5 s) not yet reached
            checkpointers = streaming.stream._checkpointers.values()
            in_flight = sum(c.in_flight for c in checkpointers)
            started = time.monotonic()
            streaming.task.cancel()
            await asyncio.gather(streaming.task, return_exceptions=True)
            return in_flight, time.monotonic() - started

    try:
        in_flight, took = asyncio.run(scenario())
    finally:
        broker.start()

    assert in_flight >= 1 and took < 5
