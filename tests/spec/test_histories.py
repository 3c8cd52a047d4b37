"""Beyond the table: random org histories (edits, id changes, deals won, lost and moved, contacts
moving, deletes and undeletes) under random configs of both modes, run through the product's
pure rules and real store, must leave the store the reference says."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.spec.builders import (
    Case,
    acc,
    con,
    create,
    custom,
    inv,
    opp,
    step,
    tenant,
    update,
    where,
)
from tests.spec.compare import differences
from tests.spec.product import migrated, run
from tests.spec.reference import Step, expected

ACCOUNT_FILTERS = [
    None,
    {"match": "all", "conditions": [where("NumberOfEmployees", "gte", 10)]},
    {
        "match": "any",
        "conditions": [where("Industry", "in", ["banking"]), where("Active__c", "equals", True)],
    },
]
ACCOUNT_SECTIONS = [create("Id"), create("Gather_Id__c"), update("salesforce_id")]
CONTACT_SECTIONS = [create("Email"), create("Id"), update("salesforce_contact_id")]
CONTACT_FILTERS = [None, {"match": "all", "conditions": [where("Title", "equals", "ceo")]}]
INVOICE_FILTERS = [None, {"match": "all", "conditions": [where("Amount__c", "gte", 100)]}]
EXISTING = {
    "accounts": [
        {"id": f"g-{n}", "traits": {"salesforce_id": acc(n), "plan": "pro"}} for n in (1, 2)
    ],
    "users": [{"id": f"u-{n}", "traits": {"salesforce_contact_id": con(n)}} for n in (1, 2)],
}


@st.composite
def configs(draw: st.DrawFn) -> dict[str, Any]:
    accounts = draw(st.sampled_from(ACCOUNT_SECTIONS)) | {
        "closed_won_only": draw(st.booleans()),
        "extra_traits": draw(st.sampled_from([[], ["AnnualRevenue"]])),
    }
    contacts = dict(draw(st.sampled_from(CONTACT_SECTIONS)))
    for section, filters in ((accounts, ACCOUNT_FILTERS), (contacts, CONTACT_FILTERS)):
        rule = draw(st.sampled_from(filters))
        if rule:
            section["filter"] = rule
    invoices = custom("Invoice__c", "Name", "invoices")
    rule = draw(st.sampled_from(INVOICE_FILTERS))
    return tenant(accounts, contacts, [invoices | ({"filter": rule} if rule else {})])


def account_fields(n: int) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "Name": st.sampled_from(["Acme", "Globex"]),
            "Industry": st.sampled_from(["Banking", "Retail", None]),
            "NumberOfEmployees": st.sampled_from([5, 10, 12, None]),
            "Active__c": st.booleans(),
            "AnnualRevenue": st.sampled_from([100, 2_000]),
            "Gather_Id__c": st.sampled_from([f"G-{n}", f"G-{n}b", None]),
        }
    )


def contact_fields(n: int) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "LastName": st.sampled_from(["Lovelace", "Hopper"]),
            "Email": st.sampled_from([f"{n}@x.example", f"{n}b@x.example", None]),
            "Title": st.sampled_from(["CEO", "Buyer"]),
            "AccountId": st.sampled_from([acc(1), acc(2), acc(3), None]),
        }
    )


def deal_fields(_n: int) -> st.SearchStrategy[dict[str, Any]]:
    stage = st.sampled_from(["Closed Won", "Closed Lost", "Prospecting"])
    return st.builds(
        lambda account, s: {"AccountId": account, "StageName": s, "IsWon": s == "Closed Won"},
        st.sampled_from([acc(1), acc(2), acc(3), None]),
        stage,
    )


def invoice_fields(n: int) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "Name": st.sampled_from([f"INV-{n}", f"INV-{n}b"]),
            "Amount__c": st.sampled_from([50, 100, 150.5]),
        }
    )


# Each record's id field values are its own (the guide: the field identifies it uniquely).
RECORDS: dict[tuple[str, str], st.SearchStrategy[dict[str, Any]]] = {
    **{("Account", acc(n)): account_fields(n) for n in (1, 2, 3)},
    **{("Contact", con(n)): contact_fields(n) for n in (1, 2, 3)},
    **{("Opportunity", opp(n)): deal_fields(n) for n in (1, 2)},
    **{("Invoice__c", inv(n)): invoice_fields(n) for n in (1, 2)},
}


@st.composite
def histories(draw: st.DrawFn) -> list[Step]:
    """Steps of writes; in one step a record is written once (edited, deleted or undeleted)."""
    org: dict[tuple[str, str], dict[str, Any]] = {}
    steps = []
    for _ in range(draw(st.integers(1, 6))):
        touched = draw(
            st.lists(st.sampled_from(sorted(RECORDS)), min_size=1, max_size=4, unique=True)
        )
        written = []
        for obj, record_id in touched:
            before = org.get((obj, record_id))
            if before is not None and draw(st.booleans()):
                record = before | {"IsDeleted": not before["IsDeleted"]}  # delete or undelete
            elif before is None or not before["IsDeleted"]:
                fields = draw(RECORDS[(obj, record_id)])
                record = {"Id": record_id, "IsDeleted": False} | fields
            else:
                continue  # a record in the Recycle Bin is not edited
            org[(obj, record_id)] = record
            written.append((obj, record))
        steps.append(step(*written))
    return steps


@pytest.fixture(scope="module")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return migrated(tmp_path_factory.mktemp("histories") / "empty.db")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(config=configs(), steps=histories())
def test_given_any_history_under_any_config_when_the_product_runs_it_then_its_store_equals_the_reference(
    config: dict[str, Any], steps: list[Step], empty_store: Path, tmp_path: Path
) -> None:
    case = Case("a random history", "all of them", config, steps, {}, EXISTING)
    database = Path(shutil.copy(empty_store, tmp_path / f"{uuid.uuid4().hex}.db"))
    want = expected(case.config, case.types, case.steps, case.existing)

    got = run(case, database)

    assert differences(got.rows, want.rows) == []
