"""Every pipeline process serves `/metrics` with its stage's counters per tenant, while live
changes flow: listener, worker and sink in, out; the delay histogram; freshness; the API; and
the records the rules skipped, by reason (the worker's and the sink's)."""

from __future__ import annotations

import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from connectors.kafka.settings import KafkaSettings
from sfsim.clock import SystemClock
from sfsim.testing import ThreadedSfsim
from tests.connectors.salesforce.builders import tenant_document
from tests.connectors.salesforce.harness import Traffic, wait_until
from tests.e2e.pipeline import Pipeline

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(url: str) -> Samples:
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_given_live_traffic_then_each_process_counts_its_stage_for_the_tenant(
    kafka_settings: KafkaSettings, sqlite_engine: Engine, tmp_path: Path
) -> None:
    url = sqlite_engine.url.render_as_string(hide_password=False)
    with (
        ThreadedSfsim(tmp_path / "tls", clock=SystemClock(), accounts=10) as org,
        Pipeline(kafka_settings, org, url, tmp_path) as pipeline,
    ):
        pipeline.apply(
            tenant_document(org, "metered", accounts={"sync_mode": "create_new", "id_field": "Id"}),
            "t",
        )
        # every account of this org matched by a trait no Gather account has (the sink skips
        # them: no match in Gather), and every contact filtered out first (the worker skips)
        nowhere = {"sync_mode": "update_existing", "match_trait": "salesforce_id"}
        never = {"match": "all", "conditions": [{"field": "LastName", "operator": "is_empty"}]}
        pipeline.apply(
            tenant_document(org, "picky", accounts=nowhere, contacts=nowhere | {"filter": never}),
            "p",
        )
        with Traffic(org, changes=2, pause=0.1):
            assert wait_until(
                lambda: (
                    value(
                        scrape(pipeline.metrics["sink"]),
                        "gather_sync_messages_out_total",
                        stage="sink",
                        tenant="metered",
                    )
                    > 0
                ),
                timeout=120,
                step=1,
            ), pipeline.log("worker")
            org.admin("faults", {"gap_events": True})  # gap events make the listener call REST
            assert wait_until(
                lambda: (
                    value(
                        scrape(pipeline.metrics["listener"]),
                        "gather_sync_salesforce_api_requests_total",
                        tenant="metered",
                    )
                    > 0
                ),
                timeout=60,
                step=1,
            ), pipeline.log("listener")
            org.admin("faults", {"gap_events": False})
        listener, worker, sink = (
            scrape(pipeline.metrics[n]) for n in ("listener", "worker", "sink")
        )

    stage = {"tenant": "metered"}
    assert value(listener, "gather_sync_subscription_up", **stage) == 1
    assert value(listener, "gather_sync_messages_out_total", stage="listener", **stage) > 0
    assert value(listener, "gather_sync_salesforce_api_requests_total", **stage) > 0
    assert 0 < value(listener, "gather_sync_salesforce_api_usage_ratio", **stage) < 1
    assert value(worker, "gather_sync_messages_in_total", stage="worker", **stage) > 0
    assert value(worker, "gather_sync_messages_out_total", stage="worker", **stage) > 0
    assert value(sink, "gather_sync_end_to_end_delay_seconds_count", **stage) > 0
    assert 0 <= value(sink, "gather_sync_freshness_seconds", **stage) < 120
    skipped = "gather_sync_records_skipped_total"
    picky = {"tenant": "picky"}
    assert value(sink, skipped, object="Account", reason="no_match_in_gather", **picky) > 0
    assert value(worker, skipped, object="Contact", reason="filtered", **picky) > 0
    assert value(worker, skipped, object="Account", reason="filtered", **picky) == 0
