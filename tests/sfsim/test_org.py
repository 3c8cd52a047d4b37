"""Writes to the org produce the change events Salesforce would publish."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from sfsim import errors
from sfsim.clock import ManualClock
from sfsim.ids import OVERFLOW_RECORD_ID
from sfsim.metadata import FieldDef
from tests.sfsim.builders import an_account, an_org, events, header


def body(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event["payload"].items() if k != "ChangeEventHeader"}


def test_given_a_create_then_the_event_carries_every_non_empty_field_and_no_id() -> None:
    org = an_org()

    record_id = an_account(org, Industry="Banking")

    [event] = events(org)
    assert header(event)["changeType"] == "CREATE"
    assert header(event)["recordIds"] == [record_id]
    assert body(event)["Name"] == "Acme Corp" and body(event)["Industry"] == "Banking"
    assert "Id" not in body(event) and "Phone" not in body(event)


def test_given_an_update_then_only_changed_fields_and_last_modified_date_are_sent() -> None:
    org = an_org()
    record_id = an_account(org)

    org.update("Account", record_id, {"Phone": "+1 555 0100", "Name": "Acme Corp"})

    event = events(org)[-1]
    assert header(event)["changedFields"] == ["Phone", "LastModifiedDate"]
    assert set(body(event)) == {"Phone", "LastModifiedDate"}


def test_given_an_address_part_changes_then_it_is_nested_and_named_with_a_dot() -> None:
    org = an_org()
    record_id = an_account(org, BillingCity="Paris")

    org.update("Account", record_id, {"BillingCity": "Lyon"})

    event = events(org)[-1]
    assert body(event)["BillingAddress"] == {"City": "Lyon"}
    assert header(event)["changedFields"] == ["BillingAddress.City", "LastModifiedDate"]


def test_given_a_contact_then_its_name_parts_are_nested_under_name() -> None:
    org = an_org()

    org.create("Contact", {"FirstName": "Ada", "LastName": "Lovelace", "Salutation": "Ms."})

    assert body(events(org)[-1])["Name"] == {
        "Salutation": "Ms.",
        "FirstName": "Ada",
        "LastName": "Lovelace",
    }


def test_given_a_field_set_to_null_then_it_is_sent_as_null_and_listed_as_changed() -> None:
    org = an_org()
    record_id = an_account(org, Phone="+1 555 0100")

    org.update("Account", record_id, {"Phone": None})

    assert body(events(org)[-1]) == {"Phone": None, "LastModifiedDate": "2026-11-28T12:00:00.000Z"}
    assert header(events(org)[-1])["changedFields"] == ["Phone", "LastModifiedDate"]


def test_given_a_write_that_changes_nothing_then_no_event_is_published() -> None:
    org = an_org()
    record_id = an_account(org, Phone="1")

    org.update("Account", record_id, {"Phone": "1"})

    assert len(events(org)) == 1


def test_given_one_transaction_then_events_share_its_key_with_rising_sequence_numbers() -> None:
    org = an_org()

    with org.transaction():
        an_account(org)
        an_account(org, Name="Globex")

    first, second = (header(e) for e in events(org))
    assert first["transactionKey"] == second["transactionKey"]
    assert (first["sequenceNumber"], second["sequenceNumber"]) == (1, 2)
    assert first["commitNumber"] == second["commitNumber"]


def test_given_the_same_change_to_several_records_in_a_transaction_then_one_event_names_all() -> (
    None
):
    org = an_org()
    ids = [an_account(org, Name=f"A{n}") for n in range(3)]

    with org.transaction():
        for record_id in ids:
            org.update("Account", record_id, {"Industry": "Retail"})

    merged = events(org)[-1]
    assert header(merged)["recordIds"] == ids
    assert body(merged)["Industry"] == "Retail"


def test_given_delete_and_undelete_then_delete_has_no_fields_and_undelete_has_the_record() -> None:
    org = an_org()
    record_id = an_account(org, Industry="Banking")

    org.delete("Account", record_id)
    org.undelete("Account", record_id)

    deleted, undeleted = events(org)[-2:]
    assert header(deleted)["changeType"] == "DELETE" and body(deleted) == {}
    assert (
        header(undeleted)["changeType"] == "UNDELETE" and body(undeleted)["Industry"] == "Banking"
    )


def test_given_a_deleted_record_then_it_is_in_the_recycle_bin_only() -> None:
    org = an_org()
    record_id = an_account(org)
    org.delete("Account", record_id)

    with pytest.raises(errors.NotFound):
        org.get("Account", record_id)
    assert org.get("Account", record_id, include_deleted=True)["IsDeleted"] is True
    with pytest.raises(errors.UndeleteFailed):
        org.undelete("Account", an_account(org))


def test_given_a_transaction_over_the_threshold_then_the_rest_is_one_gap_overflow_per_object() -> (
    None
):
    org = an_org(overflow_threshold=3)

    with org.transaction():
        for n in range(5):
            an_account(org, Name=f"A{n}")
        org.create("Contact", {"LastName": "Hopper"})

    kinds = [(header(e)["changeType"], header(e)["entityName"]) for e in events(org)]
    assert kinds == [("CREATE", "Account")] * 3 + [
        ("GAP_OVERFLOW", "Account"),
        ("GAP_OVERFLOW", "Contact"),
    ]
    assert header(events(org)[-1])["recordIds"] == [OVERFLOW_RECORD_ID]


def test_given_forced_gaps_then_events_carry_no_fields() -> None:
    org = an_org()
    org.force_gap = True

    an_account(org)

    [event] = events(org)
    assert header(event)["changeType"] == "GAP_CREATE" and body(event) == {}


def test_given_an_opportunity_moved_to_closed_won_then_is_won_changes_with_it() -> None:
    org = an_org()
    deal = org.create(
        "Opportunity", {"Name": "D", "StageName": "Prospecting", "CloseDate": "2026-12-01"}
    )

    org.update("Opportunity", deal, {"StageName": "Closed Won"})

    assert body(events(org)[-1])["IsWon"] is True
    assert org.get("Opportunity", deal)["IsClosed"] is True


def test_given_a_read_only_or_unknown_field_then_the_write_is_refused() -> None:
    org = an_org()

    with pytest.raises(errors.InvalidFieldForInsertUpdate):
        an_account(org, IsDeleted=True)
    with pytest.raises(errors.InvalidField):
        an_account(org, Colour="red")
    with pytest.raises(errors.RequiredFieldMissing):
        org.create("Contact", {"FirstName": "Ada"})


def test_given_events_older_than_72_hours_then_they_are_no_longer_retained() -> None:
    org = an_org()
    an_account(org)
    clock = org.clock
    assert isinstance(clock, ManualClock)

    clock.advance(timedelta(hours=72, seconds=1))
    newer = an_account(org, Name="Globex")

    assert [header(e)["recordIds"] for e in events(org)] == [[newer]]
    assert not org.log.is_replayable(1)  # its event expired, though nothing newer was missed
    assert org.log.is_replayable(2) and org.log.is_replayable(-2)


def test_given_a_field_added_at_runtime_then_writes_set_it_and_its_update_event_carries_it() -> (
    None
):
    org = an_org()
    record_id = an_account(org)

    org.add_field("Account", FieldDef("Tier__c", "picklist", custom=True))
    org.update("Account", record_id, {"Tier__c": "Gold"})

    event = events(org)[-1]
    assert header(event)["changedFields"] == ["Tier__c", "LastModifiedDate"]
    assert body(event)["Tier__c"] == "Gold"
    assert org.object("Account").types()["Tier__c"] == "picklist"


def test_given_a_field_the_object_already_has_then_adding_it_again_is_refused() -> None:
    org = an_org()
    org.add_field("Account", FieldDef("Tier__c", "picklist", custom=True))

    with pytest.raises(errors.DuplicateDeveloperName, match="Tier__c"):
        org.add_field("Account", FieldDef("tier__c", "string", custom=True))
