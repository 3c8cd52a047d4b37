"""Waiting out a dependency: transient failures are retried with growing waits, others raised."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from confluent_kafka import KafkaError, KafkaException

from connectors.kafka.failures import classify
from connectors.retrying import Patience, apatiently, patiently
from connectors.telemetry.metrics import RETRIES, WAITING


def failing(times: int, error: Exception) -> Callable[[], str]:
    calls = {"n": 0}

    def call() -> str:
        calls["n"] += 1
        if calls["n"] <= times:
            raise error
        return f"answered on call {calls['n']}"

    return call


def patience(stage: str) -> Patience:
    return Patience(stage, "kafka", classify, base=1.0, cap=4.0, jitter=lambda: 1.0)


def test_given_a_broker_down_for_five_calls_when_called_patiently_then_it_answers_after_waits() -> (
    None
):
    waits: list[float] = []
    down = KafkaException(KafkaError(KafkaError._TRANSPORT))
    before = RETRIES.labels("test-a", "_TRANSPORT")._value.get()

    result = patiently(failing(5, down), "list topics", patience("test-a"), sleep=waits.append)

    assert result == "answered on call 6"
    assert waits == [1.0, 2.0, 4.0, 4.0, 4.0]  # doubling up to the cap
    assert RETRIES.labels("test-a", "_TRANSPORT")._value.get() - before == 5
    assert WAITING.labels("test-a", "kafka")._value.get() == 0


def test_given_a_config_error_when_called_patiently_then_it_is_raised_without_a_wait() -> None:
    waits: list[float] = []
    refused = KafkaException(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED))

    with pytest.raises(KafkaException):
        patiently(failing(1, refused), "list topics", patience("test-b"), sleep=waits.append)

    assert waits == []


def test_given_an_async_call_failing_transiently_when_awaited_patiently_then_it_answers() -> None:
    waits: list[float] = []
    down = KafkaException(KafkaError(KafkaError._ALL_BROKERS_DOWN))
    call = failing(2, down)

    async def acall() -> str:
        return call()

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    result = asyncio.run(apatiently(acall, "bootstrap", patience("test-c"), sleep=sleep))

    assert result == "answered on call 3"
    assert waits == [1.0, 2.0]
