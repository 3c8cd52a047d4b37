"""CometD messages become one sf.changes message per record, flattened and versioned."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from connectors.salesforce.errors import NormalizeError
from connectors.salesforce.normalizer import Gap, Overflow, flatten_name, normalize
from schemas.changes import ChangeType

GOLDEN = Path(__file__).parents[2] / "sfsim" / "golden"


def message(
    change_type: str = "UPDATE", record_ids: list[str] | None = None, **body: Any
) -> dict[str, Any]:
    header = {
        "entityName": "Account",
        "recordIds": record_ids or ["001Dn0000000001IAA"],
        "changeType": change_type,
        "transactionKey": "tx-1",
        "sequenceNumber": 2,
        "commitTimestamp": 1_700_000_000_000,
        "commitNumber": 99,
        "commitUser": "005x",
        "changedFields": list(body),
    }
    return {
        "channel": "/data/AccountChangeEvent",
        "data": {
            "schema": "s",
            "payload": {"ChangeEventHeader": header, **body},
            "event": {"replayId": 42},
        },
    }


def with_header(msg: dict[str, Any], **values: Any) -> dict[str, Any]:
    msg["data"]["payload"]["ChangeEventHeader"] |= values
    return msg


def test_given_the_guides_compound_create_when_normalized_then_the_address_is_flattened() -> None:
    printed = json.loads(
        (GOLDEN / "account_create_compound_billingaddress_cometd.json").read_text()
    )
    cometd = {"channel": "/data/ChangeEvents", "data": printed["event"]}

    [change] = normalize("acme", cometd)  # type: ignore[misc]

    assert change.change_type is ChangeType.CREATE
    assert (
        change.fields["BillingCity"] == "San Francisco"
        and change.fields["BillingStreet"] == "415 Mission Street"
    )
    assert "BillingAddress" not in change.fields
    assert change.replay_id == 1398411 and change.key == "acme:Account:001T1000001nI4jIAE"


def test_given_a_merged_event_when_normalized_then_each_record_gets_its_own_change() -> None:
    ids = ["001Dn0000000001IAA", "001Dn0000000002IAA", "001Dn0000000003IAA"]

    changes = normalize("acme", message(record_ids=ids, Industry="Apparel"))

    assert isinstance(changes, list)
    assert [c.record_id for c in changes] == ids
    assert all(c.fields == {"Industry": "Apparel"} for c in changes)


def test_given_header_numbers_then_the_version_orders_by_commit_and_sequence() -> None:
    [change] = normalize("acme", message(Name="x"))  # type: ignore[misc]

    assert change.version.as_tuple() == (1_700_000_000_000, 99, 2)
    assert change.transaction_key == "tx-1"


@pytest.mark.parametrize(
    ("name", "flat"),
    [
        ("BillingAddress.City", "BillingCity"),
        ("MailingAddress.PostalCode", "MailingPostalCode"),
        ("Name.FirstName", "FirstName"),
        ("Industry", "Industry"),
    ],
)
def test_given_a_changed_field_name_then_it_is_flattened(name: str, flat: str) -> None:
    assert flatten_name(name) == flat


def test_given_a_contact_name_update_then_changed_fields_and_values_are_flat() -> None:
    body: dict[str, Any] = {
        "Name": {"FirstName": "Ada"},
        "LastModifiedDate": "2026-01-01T00:00:00.000Z",
    }
    msg = message(**body)
    msg["data"]["payload"]["ChangeEventHeader"]["changedFields"] = [
        "Name.FirstName",
        "LastModifiedDate",
    ]

    [change] = normalize("acme", msg)  # type: ignore[misc]

    assert change.fields == {"FirstName": "Ada", "LastModifiedDate": "2026-01-01T00:00:00.000Z"}
    assert change.changed_fields == ["FirstName", "LastModifiedDate"]


def test_given_a_delete_then_the_change_has_no_fields() -> None:
    [change] = normalize("acme", message("DELETE"))  # type: ignore[misc]

    assert change.change_type is ChangeType.DELETE and change.fields == {}


def test_given_gap_events_then_they_come_back_for_re_fetching() -> None:
    gap = normalize("acme", message("GAP_UPDATE", record_ids=["001Dn0000000001IAA"]))
    overflow = normalize("acme", message("GAP_OVERFLOW", record_ids=["000000000000000AAA"]))

    assert (
        isinstance(gap, Gap) and gap.record_ids == ("001Dn0000000001IAA",) and gap.replay_id == 42
    )
    assert isinstance(overflow, Overflow) and overflow.version.commit_ts == 1_700_000_000_000


# the CDC guide's CometD example of a Description sent as a diff (cdc_data_diff_event_fields.htm)
GUIDE_DIFF = (
    "--- \n+++ 682b8747ccdb93b546e7bbe479b27d26ec7c38ccabb76cdd8308c6595492bffc\n@@ -2,1 +2,1 @@\n"
    "-Business applications are moving to the cloud.\n+Business apps are moving to the cloud."
)


def test_given_a_large_text_sent_as_a_diff_then_the_record_comes_back_for_re_reading() -> None:
    diffed = message(Description={"diff": GUIDE_DIFF}, LastModifiedDate="2018-07-30T18:51:05Z")

    result = normalize("acme", diffed)

    assert isinstance(result, Gap) and result.reason == "diff"
    assert result.record_ids == ("001Dn0000000001IAA",) and result.replay_id == 42
    assert result.version.as_tuple() == (1_700_000_000_000, 99, 2)


def test_given_a_compound_field_then_it_is_not_taken_for_a_diff() -> None:
    [change] = normalize("acme", message(BillingAddress={"City": "Lyon"}))  # type: ignore[misc]

    assert change.fields == {"BillingCity": "Lyon"}


@pytest.mark.parametrize(
    ("broken", "reason"),
    [
        ({"channel": "/data/X"}, "not a change event: the message has no 'data'"),
        (
            {"data": {"payload": {}, "event": {"replayId": 1}}},
            "data.payload has no 'ChangeEventHeader'",
        ),
        (message("MERGE"), "unknown changeType 'MERGE'"),
        (message(Industry=["a", "b"]), "holds a list"),
        (message(record_ids=["not-an-id"]), "recordIds holds a value that is not a record id"),
        (with_header(message(), recordIds=[]), "recordIds is empty"),
        (with_header(message(), recordIds="001Dn0000000001IAA"), "recordIds is str, not a list"),
        (with_header(message(), changedFields=[7]), r"changedFields\[\] is int, not text"),
        (with_header(message(), changedFields="Name"), "changedFields is str, not a list"),
        (with_header(message(), commitTimestamp=10**16), "commitTimestamp is a 54-bit int"),
        (with_header(message(), commitNumber=True), "commitNumber is bool True"),
        (with_header(message(), entityName="Drop Table"), "entityName is not an object name"),
        (message(BillingAddress={"City": {"x": 1}}), "does not fit the contract"),
        ("not even a dict", "the message is str, not an object"),
    ],
)
def test_given_a_malformed_message_then_the_error_says_why(
    broken: dict[str, Any], reason: str
) -> None:
    with pytest.raises(NormalizeError, match=reason):
        normalize("acme", broken)
