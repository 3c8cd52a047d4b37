"""Accounts, contacts and custom records from record states, as the product guide describes."""

from __future__ import annotations

from typing import Any

from schemas.changes import ChangeType
from schemas.gather import EntityKind, GatherUpsert, Operation, Target
from schemas.tenant import AccountsSection, ContactsSection, CustomObjectSection
from schemas.versions import Version
from streams.rules.entities import Skip, account, contact, custom_record
from tests.builders import state_of

ACCOUNT_ID = "001Dn0000000001IAA"


def accounts(**kw: Any) -> AccountsSection:
    return AccountsSection.model_validate(
        {"sync_mode": "create_new", "id_field": "AccountNumber"} | kw
    )


def test_given_a_created_account_then_default_traits_are_snake_case_with_a_composed_address() -> (
    None
):
    state = state_of(
        (
            ChangeType.CREATE,
            1,
            {
                "Name": "Acme",
                "AccountNumber": "A-1",
                "BillingCity": "Paris",
                "BillingCountry": "FR",
                "NumberOfEmployees": 12,
                "Tier__c": "Gold",
            },
        )
    )

    outcome = account("acme", accounts(extra_traits=["Tier__c"]), state, {}, closed_won=False)

    assert isinstance(outcome, GatherUpsert)
    assert (outcome.kind, outcome.op, outcome.target, outcome.gather_id) == (
        EntityKind.ACCOUNT,
        Operation.UPSERT,
        Target.CREATE,
        "A-1",
    )
    assert outcome.traits == {
        "name": "Acme",
        "number_of_employees": 12,
        "tier_c": "Gold",
        "billing_address": {"city": "Paris", "country": "FR"},
    }
    assert outcome.trait_versions["billing_address"] == Version(commit_ts=1)


def test_given_an_empty_id_field_in_create_mode_then_the_account_is_skipped() -> None:
    assert account(
        "acme", accounts(), state_of((ChangeType.CREATE, 1, {"Name": "x"})), {}, False
    ) == Skip("no_id")


def test_given_update_existing_then_the_target_is_the_match_trait() -> None:
    section = AccountsSection(sync_mode="update_existing", match_trait="salesforce_id")

    outcome = account(
        "acme", section, state_of((ChangeType.CREATE, 1, {"Name": "Acme"})), {}, False
    )

    assert isinstance(outcome, GatherUpsert)
    assert (outcome.target, outcome.match_trait, outcome.gather_id) == (
        Target.MATCH,
        "salesforce_id",
        None,
    )


def test_given_closed_won_only_then_an_account_without_a_won_deal_is_skipped() -> None:
    state = state_of((ChangeType.CREATE, 1, {"Name": "Acme", "AccountNumber": "A-1"}))

    assert account("acme", accounts(closed_won_only=True), state, {}, closed_won=False) == Skip(
        "not_closed_won"
    )
    assert isinstance(
        account("acme", accounts(closed_won_only=True), state, {}, closed_won=True), GatherUpsert
    )


def test_given_a_filter_then_a_record_that_stops_matching_is_skipped_not_deleted() -> None:
    section = accounts(
        filter={
            "match": "all",
            "conditions": [{"field": "Industry", "operator": "equals", "value": "Banking"}],
        }
    )
    matching = state_of((ChangeType.CREATE, 1, {"AccountNumber": "A-1", "Industry": "Banking"}))
    moved = state_of(
        (ChangeType.CREATE, 1, {"AccountNumber": "A-1", "Industry": "Banking"}),
        (ChangeType.UPDATE, 2, {"Industry": "Retail"}),
    )

    types = {"Industry": "picklist"}
    assert isinstance(account("acme", section, matching, types, False), GatherUpsert)
    assert account("acme", section, moved, types, False) == Skip("filtered")
    assert account("acme", section, matching, {}, False) == Skip("types_unknown")


def test_given_a_deleted_then_undeleted_account_then_delete_and_revive_carry_their_versions() -> (
    None
):
    deleted = state_of((ChangeType.CREATE, 1, {"AccountNumber": "A-1"}), (ChangeType.DELETE, 2, {}))
    revived = state_of(
        (ChangeType.CREATE, 1, {"AccountNumber": "A-1"}),
        (ChangeType.DELETE, 2, {}),
        (ChangeType.UNDELETE, 3, {"AccountNumber": "A-1"}),
    )

    gone = account("acme", accounts(), deleted, {}, False)
    back = account("acme", accounts(), revived, {}, False)

    assert isinstance(gone, GatherUpsert) and (gone.op, gone.version, gone.gather_id) == (
        Operation.DELETE,
        Version(commit_ts=2),
        "A-1",
    )
    assert isinstance(back, GatherUpsert) and (back.op, back.version) == (
        Operation.UPSERT,
        Version(commit_ts=3),
    )


def test_given_a_contact_then_it_links_to_its_account_by_salesforce_id() -> None:
    section = ContactsSection(sync_mode="create_new", id_field="Email")
    state = state_of(
        (
            ChangeType.CREATE,
            4,
            {
                "FirstName": "Ada",
                "LastName": "Lovelace",
                "Email": "ada@example.com",
                "AccountId": ACCOUNT_ID,
            },
        ),
        obj="Contact",
        record_id="003Dn0000000001IAA",
    )

    outcome = contact("acme", section, state, {})

    assert isinstance(outcome, GatherUpsert)
    assert outcome.traits == {
        "id": "003Dn0000000001IAA",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.com",
    }
    assert (outcome.account_sf_id, outcome.account_version) == (ACCOUNT_ID, Version(commit_ts=4))


def test_given_a_custom_object_then_every_field_is_a_trait_of_its_model() -> None:
    section = CustomObjectSection(object="Invoice__c", id_field="Name", model="invoices")
    state = state_of(
        (ChangeType.CREATE, 1, {"Name": "INV-1", "Amount__c": 120.5}),
        obj="Invoice__c",
        record_id="a00Dn0000000001IAA",
    )

    outcome = custom_record("acme", section, state, {})

    assert isinstance(outcome, GatherUpsert)
    assert (outcome.kind, outcome.model, outcome.gather_id) == (
        EntityKind.RECORD,
        "invoices",
        "INV-1",
    )
    assert outcome.traits == {"name": "INV-1", "amount_c": 120.5}
