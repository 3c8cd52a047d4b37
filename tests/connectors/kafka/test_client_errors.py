"""A client's errors as a whole: counted each time, logged once per window per code."""

from __future__ import annotations

from confluent_kafka import KafkaError
from structlog.testing import capture_logs

from connectors.kafka.client_errors import ClientErrors
from connectors.telemetry.metrics import KAFKA_CLIENT_ERRORS


def count(stage: str, code: str) -> float:
    return float(KAFKA_CLIENT_ERRORS.labels(stage, code)._value.get())


def test_given_all_brokers_down_reported_often_then_each_is_counted_and_one_line_per_window() -> (
    None
):
    now = [0.0]
    errors = ClientErrors("test-sink", window=30, clock=lambda: now[0])
    down = KafkaError(KafkaError._ALL_BROKERS_DOWN, "1/1 brokers are down")
    with capture_logs() as logs:
        for second in range(61):
            now[0] = second
            errors(down)

    assert count("test-sink", "_ALL_BROKERS_DOWN") == 61
    assert [(e["event"], e["held_back"]) for e in logs] == [
        ("waiting for kafka", 0),
        ("waiting for kafka", 29),
        ("waiting for kafka", 29),
    ]
    assert logs[0]["stage"] == "test-sink"


def test_given_an_authentication_error_then_it_is_logged_as_an_error_not_a_wait() -> None:
    errors = ClientErrors("test-auth", clock=lambda: 0.0)
    with capture_logs() as logs:
        errors(KafkaError(KafkaError._AUTHENTICATION, "SASL authentication failed"))

    assert [(e["event"], e["log_level"], e["failure"]) for e in logs] == [
        ("kafka client error", "error", "config")
    ]
