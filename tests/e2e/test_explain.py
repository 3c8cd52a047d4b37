"""`gather-sync explain` on the running pipeline: for a synced account, a filtered one, one
waiting for a Closed Won opportunity, a contact linked to its account and an account whose
upsert the store refused (dead-lettered), the command names the right standing and reason.

The expected standings come from the product guide's rules (a filter holds a record back, only
accounts with a Closed Won opportunity sync, a contact is linked to its account), written out
here, not computed by the code under test."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from connectors.kafka.settings import KafkaSettings
from sfsim.clock import SystemClock
from sfsim.testing import ThreadedSfsim
from tests.connectors.salesforce.builders import tenant_document
from tests.connectors.salesforce.harness import wait_until
from tests.e2e.pipeline import Pipeline, free_port

NOT_MINING = {
    "match": "all",
    "conditions": [{"field": "Industry", "operator": "not_equals", "value": "Agriculture"}],
}


def explained(pipeline: Pipeline, tenant: str, obj: str, record_id: str) -> dict[str, Any]:
    done = pipeline.cli("explain", "--tenant", tenant, "--object", obj, "--id", record_id, "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def settled(
    pipeline: Pipeline, tenant: str, obj: str, record_id: str, verdict: str
) -> dict[str, Any]:
    """The explanation once it says `verdict` (the pipeline is live), or the last one."""
    last: dict[str, Any] = {}

    def check() -> bool:
        nonlocal last
        last = explained(pipeline, tenant, obj, record_id)
        return bool(last["verdict"] == verdict)

    wait_until(check, timeout=120, step=2)
    return last


def steps(found: dict[str, Any]) -> dict[str, list[tuple[str, bool | None]]]:
    by_rule: dict[str, list[tuple[str, bool | None]]] = {}
    for step in found["steps"]:
        by_rule.setdefault(step["rule"], []).append((step["detail"], step["passed"]))
    return by_rule


def searched(base: str, tenant: str, obj: str, record_id: str) -> dict[str, Any]:
    """What the dashboard's search box gets (its page fetches this URL)."""
    query = urllib.parse.urlencode({"tenant": tenant, "object": obj, "id": record_id})
    with urllib.request.urlopen(f"{base}/api/explain?{query}", timeout=120) as response:
        found: dict[str, Any] = json.loads(response.read())
    return found


def served(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=5):
            return True
    except (urllib.error.URLError, ConnectionError):
        return False


def make_records(org: ThreadedSfsim) -> dict[str, str]:
    def create() -> dict[str, str]:
        o = org.state.org
        ids = {
            "synced": o.create("Account", {"Name": "Synced", "Industry": "Banking"}),
            "filtered": o.create("Account", {"Name": "Filtered", "Industry": "Agriculture"}),
            "waiting": o.create("Account", {"Name": "Waiting", "Industry": "Banking"}),
            "refused": o.create("Account", {"Name": "Refused", "Description": "x" * 300}),
        }
        for name, stage in (
            ("synced", "Closed Won"),
            ("filtered", "Closed Won"),
            ("waiting", "Prospecting"),
        ):
            ids[f"deal-{name}"] = o.create(
                "Opportunity",
                {
                    "Name": name,
                    "StageName": stage,
                    "CloseDate": "2026-12-01",
                    "AccountId": ids[name],
                },
            )
        ids["contact"] = o.create(
            "Contact", {"LastName": "Linked", "Email": "l@example.com", "AccountId": ids["synced"]}
        )
        return ids

    return org.call(create)


def test_given_records_of_each_standing_when_explained_then_each_shows_its_reason(
    kafka_settings: KafkaSettings, postgres_engine: Engine, tmp_path: Path
) -> None:
    url = postgres_engine.url.render_as_string(hide_password=False)
    with (
        ThreadedSfsim(tmp_path / "tls", clock=SystemClock()) as org,
        Pipeline(kafka_settings, org, url, tmp_path) as pipeline,
    ):
        won_only = {
            "sync_mode": "create_new",
            "id_field": "Id",
            "closed_won_only": True,
            "filter": NOT_MINING,
        }
        by_id = {"sync_mode": "create_new", "id_field": "Id"}
        pipeline.apply(tenant_document(org, "why", accounts=won_only, contacts=by_id), "why")
        # a Gather id longer than the store's 255 characters: PostgreSQL refuses the row
        pipeline.apply(
            tenant_document(
                org, "long", accounts={"sync_mode": "create_new", "id_field": "Description"}
            ),
            "long",
        )
        assert wait_until(lambda: org.admin("state")["cometd_polling"] >= 2, timeout=90)
        ids = make_records(org)

        synced = settled(pipeline, "why", "Account", ids["synced"], "synced")
        filtered = settled(pipeline, "why", "Account", ids["filtered"], "skipped")
        waiting = settled(pipeline, "why", "Account", ids["waiting"], "skipped")
        contact = settled(pipeline, "why", "Contact", ids["contact"], "synced")
        refused = settled(pipeline, "long", "Account", ids["refused"], "dead_lettered")
        text = pipeline.cli(
            "explain", "--tenant", "why", "--object", "Account", "--id", ids["waiting"]
        )
        port = free_port()
        pipeline.spawn("dashboard", ["-m", "cli.main", "dashboard", "--port", str(port)])
        base = f"http://127.0.0.1:{port}"
        assert wait_until(lambda: served(base), timeout=60), pipeline.log("dashboard")
        searched_contact = searched(base, "why", "Contact", ids["contact"])
        with urllib.request.urlopen(base, timeout=10) as response:
            page = response.read().decode()

    assert synced["verdict"] == "synced", synced
    assert synced["rows"][0]["id"] == ids["synced"] and synced["differences"] == []
    assert steps(synced)["closed won"] == [(f"{ids['deal-synced']} won", True)]

    assert filtered["verdict"] == "skipped" and filtered["decision"] == "skip:filtered", filtered
    assert steps(filtered)["condition"] == [
        ("Industry not_equals 'Agriculture': picklist value 'Agriculture'", False)
    ]
    assert filtered["rows"] == []

    assert waiting["decision"] == "skip:not_closed_won", waiting
    assert steps(waiting)["closed won"] == [(f"{ids['deal-waiting']} not won", False)]
    assert "Closed Won" in waiting["causes"][0]

    assert contact["verdict"] == "synced", contact
    assert contact["upsert"]["account_sf_id"] == ids["synced"]
    assert contact["rows"][0]["account_id"] == ids["synced"]  # the store linked the user
    assert steps(contact)["account"] == [
        (f"AccountId = {ids['synced']!r}: Gather account {ids['synced']!r}", True)
    ]

    assert refused["verdict"] == "dead_lettered", refused
    assert refused["dead_letters"][0]["stage"] == "sink.write"
    assert refused["rows"] == [] and refused["upsert"]["gather_id"] == "x" * 300

    assert text.returncode == 0
    assert text.stdout.startswith(f"Account {ids['waiting']} of tenant why: skipped"), text.stdout

    assert searched_contact["verdict"] == "synced", searched_contact
    assert searched_contact["text"].startswith(f"Contact {ids['contact']} of tenant why: synced")
    assert 'id="explain-form"' in page  # the search box that asks /api/explain
