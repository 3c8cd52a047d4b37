"""The metrics' own logic: freshness computed at scrape time, a taken port never fatal."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry, generate_latest

from connectors.telemetry.metrics import FreshnessCollector, MetricsSettings, serve

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)


def test_given_newest_commits_when_scraped_then_freshness_is_their_age_at_scrape_time() -> None:
    clock = [NOW]
    newest = {"acme": NOW - timedelta(seconds=30), "globex": NOW - timedelta(minutes=5)}
    registry = CollectorRegistry()
    registry.register(FreshnessCollector(lambda: newest, lambda: clock[0]))

    first = registry.get_sample_value("gather_sync_freshness_seconds", {"tenant": "acme"})
    clock[0] += timedelta(seconds=10)
    later = registry.get_sample_value("gather_sync_freshness_seconds", {"tenant": "acme"})

    assert (first, later) == (30.0, 40.0)
    assert (
        'gather_sync_freshness_seconds{tenant="globex"} 310.0' in generate_latest(registry).decode()
    )


def test_given_a_taken_port_when_metrics_start_then_the_process_goes_on_without_them() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        served = serve(MetricsSettings(port=port, host="127.0.0.1"), "test")

    assert served is False


def test_given_port_zero_then_no_endpoint_is_started() -> None:
    assert serve(MetricsSettings(port=0), "test") is False
