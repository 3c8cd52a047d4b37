"""End to end on the real broker, sfsim and PostgreSQL: two tenants on one org (so their record
ids collide), a random workload (creates, updates, deletes, undeletes, deals won and lost,
contacts moving), a backfill racing live traffic and a config change mid-run. The store must end
equal, row for row and trait for trait, to the rules applied directly to the final records."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from connectors.gather import migrate
from connectors.gather.engine import make_engine
from connectors.kafka.settings import KafkaSettings
from schemas.loader import validate_tenant_config
from sfsim.clock import SystemClock
from sfsim.metadata import load_schema
from sfsim.testing import ThreadedSfsim
from tests.connectors.salesforce.builders import tenant_document
from tests.connectors.salesforce.harness import Traffic, wait_until
from tests.e2e.oracle import (
    apply_rules,
    differences,
    reference_store,
    seed_accounts,
    snapshot,
)
from tests.e2e.pipeline import REPO, Pipeline

SCHEMA = """
objects:
  - name: Invoice__c
    label: Invoice
    fields:
      - {name: Status__c, type: picklist, picklist_values: [Draft, Sent, Paid]}
      - {name: Amount__c, type: currency}
"""


def alpha(org: ThreadedSfsim, industries: list[str], extra: list[str]) -> dict[str, Any]:
    """Creates accounts by Salesforce Id for some industries, and contacts by email."""
    return tenant_document(
        org,
        "alpha",
        accounts={
            "sync_mode": "create_new",
            "id_field": "Id",
            "extra_traits": extra,
            "filter": {
                "match": "all",
                "conditions": [{"field": "Industry", "operator": "in", "value": industries}],
            },
        },
        contacts={"sync_mode": "create_new", "id_field": "Email", "extra_traits": ["Title"]},
    )


def beta(org: ThreadedSfsim) -> dict[str, Any]:
    """Updates existing Gather accounts with a Closed Won deal; some contacts; invoices."""
    title = {"field": "Title", "operator": "in", "value": ["CEO", "CTO", "CFO"]}
    return tenant_document(
        org,
        "beta",
        accounts={
            "sync_mode": "update_existing",
            "match_trait": "salesforce_id",
            "closed_won_only": True,
        },
        contacts={
            "sync_mode": "create_new",
            "id_field": "Id",
            "filter": {"match": "any", "conditions": [title]},
        },
        custom_objects=[
            {
                "object": "Invoice__c",
                "id_field": "Name",
                "model": "invoices",
                "filter": {
                    "match": "all",
                    "conditions": [
                        {"field": "Status__c", "operator": "not_equals", "value": "Draft"}
                    ],
                },
            }
        ],
    )


def gather_accounts(org: ThreadedSfsim) -> list[dict[str, Any]]:
    """Two of every three accounts already exist in Gather, holding their Salesforce id."""
    ids = org.call(lambda: sorted(r["Id"] for r in org.state.org.rows("Account")))
    return [
        {"tenant": "beta", "id": f"g-{n}", "traits": {"salesforce_id": i, "plan": "pro"}}
        for n, i in enumerate(ids)
        if n % 3
    ]


def backfill(pipeline: Pipeline, tenant: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cli.main", "backfill", "--tenant", tenant],
        cwd=REPO,
        env=pipeline.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_given_two_tenants_and_a_random_workload_then_the_store_equals_the_rules_on_the_final_org(
    kafka_settings: KafkaSettings, postgres_engine: Engine, tmp_path: Path
) -> None:
    seed = random.randrange(10**6)
    (tmp_path / "schema.yaml").write_text(SCHEMA, encoding="utf-8")
    org_schema = load_schema(tmp_path / "schema.yaml")
    url = postgres_engine.url.render_as_string(hide_password=False)
    with ThreadedSfsim(
        tmp_path / "tls", org_schema, SystemClock(), accounts=60, seed=seed, poll_timeout_ms=2_000
    ) as org:
        seeds = gather_accounts(org)
        migrate.upgrade(postgres_engine)
        seed_accounts(postgres_engine, seeds)
        with Pipeline(kafka_settings, org, url, tmp_path) as pipeline:
            pipeline.apply(alpha(org, ["Banking", "Retail", "Technology"], []), "alpha-v1")
            pipeline.apply(beta(org), "beta")
            assert wait_until(lambda: org.admin("state")["cometd_polling"] >= 2, timeout=90), (
                pipeline.log("listener")
            )
            with Traffic(org, changes=3, pause=0.05):
                fills = [backfill(pipeline, t) for t in ("alpha", "beta")]
                time.sleep(6)
                final_alpha = alpha(
                    org,
                    ["Banking", "Retail", "Technology", "Energy", "Media"],
                    ["AnnualRevenue", "Rating"],
                )
                pipeline.apply(final_alpha, "alpha-v2")  # mid-run: a wider filter, more traits
                time.sleep(8)
                outputs = [f.communicate(timeout=120)[0] for f in fills]
            assert [f.returncode for f in fills] == [0, 0], outputs
            configs = [validate_tenant_config(final_alpha), validate_tenant_config(beta(org))]
            oracle = apply_rules(configs, org)
            reference = reference_store(
                make_engine(f"sqlite:///{tmp_path}/reference.db"), configs, seeds, oracle
            )
            want = snapshot(reference)
            converged = wait_until(
                lambda: not differences(snapshot(postgres_engine), want, oracle), 240, step=3
            )
            logs = {n: pipeline.log(n) for n in ("listener", "worker", "sink")}
    got = snapshot(postgres_engine)
    diff = differences(got, want, oracle)
    (tmp_path / "differences.txt").write_text("\n".join(diff), encoding="utf-8")
    assert converged and diff == [], (seed, len(diff), diff[:3], logs)
    compared = [k for k in want if got.get(k) == want[k]]
    assert len(compared) > 150, (seed, len(compared))  # not a vacuous comparison
    assert {k[1] for k in compared} == {"alpha", "beta"}
    assert any(want[k]["deleted"] for k in compared)  # deletes reached the store
    assert any(k[2] == "invoices" for k in compared)  # custom objects too
