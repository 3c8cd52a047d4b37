"""The gate a tenant's stream passes before taking the next event: open while Kafka keeps
acknowledging, closed (with the reason) when a send failed or waited too long, and a wait for
the oldest send when too many are in flight."""

from __future__ import annotations

import asyncio

import pytest
import structlog
from confluent_kafka import KafkaError

from connectors.kafka.producer import DeliveryFailed
from connectors.salesforce.checkpoints import ChannelCheckpointer
from connectors.salesforce.kafka_gate import (
    KafkaGate,
    KafkaRefused,
    KafkaUnacknowledged,
    stall,
)


def checkpointer(clock: list[float]) -> ChannelCheckpointer:
    return ChannelCheckpointer(
        "acme", "/data/AccountChangeEvent", lambda _k, _c: None, lambda: clock[0]
    )


@pytest.mark.parametrize(
    ("failure", "expected", "reason"),
    [
        # the broker away past the delivery timeout, a full local queue, a leader moving
        (
            DeliveryFailed(KafkaError(KafkaError._MSG_TIMED_OUT)),
            KafkaUnacknowledged,
            "_MSG_TIMED_OUT",
        ),
        (DeliveryFailed(BufferError("Local: Queue full")), KafkaUnacknowledged, "_QUEUE_FULL"),
        (
            DeliveryFailed(KafkaError(KafkaError.NOT_LEADER_FOR_PARTITION)),
            KafkaUnacknowledged,
            "NOT_LEADER_FOR_PARTITION",
        ),
        (
            DeliveryFailed(KafkaError(KafkaError._ALL_BROKERS_DOWN)),
            KafkaUnacknowledged,
            "_ALL_BROKERS_DOWN",
        ),
        # no wait fixes these: the supervisor restarts the stream with a growing backoff
        (DeliveryFailed(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE)), KafkaRefused, None),
        (DeliveryFailed(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED)), KafkaRefused, None),
    ],
)
def test_given_a_failed_send_then_the_channel_stops_with_its_reason(
    failure: DeliveryFailed, expected: type[Exception], reason: str | None
) -> None:
    async def scenario() -> KafkaUnacknowledged | KafkaRefused | None:
        cp = checkpointer([0.0])
        done = asyncio.get_running_loop().create_future()
        done.set_exception(failure)
        cp.track(7, 7, done)
        return stall(cp, ack_timeout=30)

    stopped = asyncio.run(scenario())
    assert isinstance(stopped, expected)
    if reason is not None:
        assert isinstance(stopped, KafkaUnacknowledged) and stopped.reason == reason


@pytest.mark.parametrize(("waited", "stops"), [(29.9, False), (30.1, True)])
def test_given_a_send_unacknowledged_then_the_channel_stops_only_past_the_ack_timeout(
    waited: float, stops: bool
) -> None:
    async def scenario() -> KafkaUnacknowledged | KafkaRefused | None:
        clock = [100.0]
        cp = checkpointer(clock)
        cp.track(7, 7, asyncio.get_running_loop().create_future())
        clock[0] += waited
        return stall(cp, ack_timeout=30)

    stopped = asyncio.run(scenario())
    assert (stopped is not None) is stops
    assert stopped is None or (
        isinstance(stopped, KafkaUnacknowledged) and stopped.reason == "unacknowledged"
    )


def gate(clock: list[float], max_in_flight: int, ack_timeout: float) -> KafkaGate:
    return KafkaGate(
        "acme", structlog.get_logger(), lambda: clock[0], asyncio.sleep, max_in_flight, ack_timeout
    )


def test_given_more_in_flight_than_allowed_then_the_next_event_waits_for_the_oldest() -> None:
    async def scenario() -> tuple[bool, int]:
        loop = asyncio.get_running_loop()
        clock = [0.0]
        cp = checkpointer(clock)
        sends = [loop.create_future() for _ in range(3)]
        for n, done in enumerate(sends, start=1):
            cp.track(n, n, done)
        waiting = asyncio.create_task(gate(clock, max_in_flight=2, ack_timeout=60).keep_up(cp))
        await asyncio.sleep(0.05)
        held = not waiting.done()
        sends[0].set_result(None)  # the oldest acknowledged: two left in flight, within bounds
        await asyncio.wait_for(waiting, 5)
        return held, cp.in_flight

    assert asyncio.run(scenario()) == (True, 2)


def test_given_in_flight_sends_that_never_settle_then_keeping_up_stops_at_the_ack_timeout() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        clock = [0.0]
        cp = checkpointer(clock)
        for n in range(1, 4):
            cp.track(n, n, loop.create_future())

        async def time_passes() -> None:
            await asyncio.sleep(0.1)
            clock[0] = 61.0  # past the ack timeout while the gate waits for the oldest

        passing = asyncio.create_task(time_passes())
        try:
            await gate(clock, max_in_flight=2, ack_timeout=60).keep_up(cp)
        finally:
            await passing

    with pytest.raises(KafkaUnacknowledged, match=r"no acknowledgement from Kafka for 61\.0 s"):
        asyncio.run(asyncio.wait_for(scenario(), 5))
