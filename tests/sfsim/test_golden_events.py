"""Golden tests: the change events printed in Salesforce's guides are reproduced, field for
field, by the same operations on sfsim, apart from ids and times.

The files in golden/ are copied from the guides (see each file's `source` and `note`). Older
guide editions print the CometD form sfsim serves; newer ones print the Pub/Sub form (every
field, nulls included, dates as epoch ms), which is compared on its non-null fields. Fields a
golden carries that sfsim does not model (Data.com `CleanStatus`, formula fields of the guide's
org) or that come from channel enrichment are named per case.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

import pytest

from sfsim.metadata import load_schema
from sfsim.org import Org
from tests.sfsim.builders import an_org, events, header

GOLDEN = Path(__file__).parent / "golden"
IDS = {"OwnerId", "CreatedById", "LastModifiedById", "AccountId"}
TIMES = {"CreatedDate", "LastModifiedDate"}


def golden(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((GOLDEN / name).read_text())
    return document


def golden_payload(name: str) -> dict[str, Any]:
    event = golden(name)["event"]
    payload: dict[str, Any] = event.get("payload", event)
    return payload


def comparable(payload: dict[str, Any], leave_out: Collection[str] = ()) -> dict[str, Any]:
    """Non-null body fields, ids and times replaced by placeholders, nested parts likewise."""
    shown: dict[str, Any] = {}
    for key, value in payload.items():
        if key == "ChangeEventHeader" or key in leave_out or value is None:
            continue
        if isinstance(value, dict):
            value = {k: v for k, v in value.items() if v is not None}
        shown[key] = "<id>" if key in IDS else "<time>" if key in TIMES else value
    return shown


def last_payload(org: Org) -> dict[str, Any]:
    payload: dict[str, Any] = events(org)[-1]["payload"]
    return payload


def test_given_the_guides_cometd_compound_address_create_then_sfsim_sends_the_same() -> None:
    org = an_org()
    org.create(
        "Account",
        {
            "Name": "Acme",
            "Website": "www.salesforce.com",
            "BillingStreet": "415 Mission Street",
            "BillingCity": "San Francisco",
            "BillingState": "CA",
            "BillingPostalCode": "94105",
            "BillingCountry": "United States",
        },
    )

    expected = golden_payload("account_create_compound_billingaddress_cometd.json")
    assert comparable(last_payload(org)) == comparable(expected)
    assert set(header(events(org)[-1])) == set(expected["ChangeEventHeader"])


def test_given_the_streaming_guides_create_then_sfsim_sends_the_same_body() -> None:
    org = an_org()
    org.create(
        "Account",
        {
            "Name": "Acme",
            "Description": "Everyone is talking about the cloud. But what does it mean?",
        },
    )

    message = golden("account_create_cometd_streaming_guide.json")["event"]
    assert message["channel"] == "/data/ChangeEvents"
    assert comparable(last_payload(org)) == comparable(message["data"]["payload"])


def test_given_the_guides_cometd_update_then_sfsim_sends_the_changed_field_and_date() -> None:
    org = an_org()
    record_id = org.create("Account", {"Name": "Acme", "Industry": "Biotechnology"})
    org.update("Account", record_id, {"Fax": "4155551212"})

    expected = golden_payload("account_update_cometd.json")
    enrichment = {"Industry", "External_Account_ID__c"}  # the guide's channel enriches these
    assert comparable(last_payload(org)) == comparable(expected, enrichment)
    assert (
        header(events(org)[-1])["changedFields"] == expected["ChangeEventHeader"]["changedFields"]
    )


def test_given_the_guides_cometd_delete_then_sfsim_sends_the_header_only() -> None:
    org = an_org()
    record_id = org.create("Account", {"Name": "Acme"})
    org.delete("Account", record_id)

    expected = golden_payload("account_delete_cometd.json")
    assert (
        comparable(last_payload(org))
        == comparable(expected, {"Industry", "External_Account_ID__c"})
        == {}
    )
    assert header(events(org)[-1])["changeType"] == "DELETE"


def test_given_the_guides_merged_update_then_one_event_names_the_three_accounts() -> None:
    org = an_org()
    ids = [org.create("Account", {"Name": f"Account {n}"}) for n in range(3)]
    with org.transaction():
        for record_id in ids:
            org.update("Account", record_id, {"Industry": "Apparel"})

    printed = golden("merged_update.json")
    assert comparable(last_payload(org)) == comparable(printed["event"])
    assert header(events(org)[-1])["changedFields"] == printed["printed_decoded_changedFields"]
    assert len(header(events(org)[-1])["recordIds"]) == len(
        printed["event"]["ChangeEventHeader"]["recordIds"]
    )


def test_given_the_guides_contact_create_then_name_and_mailing_address_nest_the_same() -> None:
    org = an_org()
    account = org.create("Account", {"Name": "Cardinal"})
    org.create(
        "Contact",
        {
            "AccountId": account,
            "FirstName": "Brenda",
            "LastName": "Mcclure",
            "MailingState": "IL",
            "MailingCountry": "USA",
            "Phone": "(847) 262-5000",
            "Email": "brenda@cardinal.net",
            "Title": "CFO",
            "LeadSource": "Web",
        },
    )

    expected = golden_payload("contact_create_compound_name.json")
    assert comparable(last_payload(org)) == comparable(expected, {"CleanStatus"})


def test_given_the_guides_compound_address_create_in_pub_sub_form_then_the_fields_match() -> None:
    org = an_org()
    org.create(
        "Account",
        {
            "Name": "Acme",
            "BillingStreet": "415 Mission Street",
            "BillingCity": "San Francisco",
            "BillingState": "CA",
            "BillingPostalCode": "94105",
            "BillingCountry": "United States",
        },
    )

    expected = golden_payload("account_create_compound_billingaddress.json")
    assert comparable(last_payload(org)) == comparable(expected, {"CleanStatus"})


def test_given_the_guides_street_update_then_only_the_street_part_is_sent() -> None:
    org = an_org()
    record_id = org.create("Account", {"Name": "Acme", "BillingStreet": "415 Mission Street"})
    org.update("Account", record_id, {"BillingStreet": "415 Mission Street Suite B"})

    expected = golden_payload("account_update_compound_billingaddress.json")
    assert comparable(last_payload(org)) == comparable(expected)
    assert header(events(org)[-1])["changedFields"] == ["BillingAddress.Street", "LastModifiedDate"]


@pytest.fixture
def employees() -> Org:
    return an_org(load_schema(GOLDEN / "employee_schema.yaml"))


def test_given_the_trailhead_employee_lifecycle_then_each_event_matches(employees: Org) -> None:
    org = employees
    record_id = org.create(
        "Employee__c", {"Name": "e-100", "First_Name__c": "Patricia", "Last_Name__c": "Smith"}
    )
    created = last_payload(org)
    org.update("Employee__c", record_id, {"First_Name__c": "Trish", "Tenure__c": 3})
    updated = last_payload(org)
    org.delete("Employee__c", record_id)
    deleted = last_payload(org)
    org.undelete("Employee__c", record_id)

    assert comparable(created) == comparable(golden_payload("employee_create.json"))
    assert comparable(updated) == comparable(golden_payload("employee_update.json"))
    assert sorted(header(events(org)[-3])["changedFields"]) == sorted(
        golden("employee_update.json")["printed_decoded_changedFields"]
    )
    assert comparable(deleted) == comparable(golden_payload("employee_delete.json")) == {}
    assert comparable(last_payload(org)) == comparable(golden_payload("employee_undelete.json"))
    assert events(org)[-1]["payload"]["ChangeEventHeader"]["entityName"] == "Employee__c"


def test_given_forced_gaps_then_the_event_is_shaped_like_the_guides_gap_create() -> None:
    org = an_org()
    org.force_gap = True
    org.create("Account", {"Name": "Acme"})

    expected = golden_payload("gap_create.json")
    assert comparable(last_payload(org)) == comparable(expected) == {}
    assert header(events(org)[-1])["changeType"] == expected["ChangeEventHeader"]["changeType"]


def test_given_an_oversized_transaction_then_the_overflow_event_matches_the_guide() -> None:
    org = an_org(overflow_threshold=2)
    with org.transaction():
        for n in range(3):
            org.create("Account", {"Name": f"A{n}"})

    expected = golden_payload("overflow_gap_overflow.json")["ChangeEventHeader"]
    got = header(events(org)[-1])
    assert (got["changeType"], got["recordIds"], got["entityName"]) == (
        expected["changeType"],
        expected["recordIds"],
        expected["entityName"],
    )
