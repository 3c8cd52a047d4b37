"""The rules of the product guide, step by step, for one record (expected lines written out by
hand from the guide: a filter condition compares by the field's type, closed won needs a won
opportunity, a contact names its account)."""

from __future__ import annotations

from schemas.gather import GatherUpsert
from streams.explain.rules import Inputs, decide, steps
from streams.rules.entities import Skip
from tests.streams.explain.builders import RECORD_ID, a_config, a_state

BY_ID = {"sync_mode": "create_new", "id_field": "Id"}


def big_accounts(**section: object) -> dict[str, object]:
    rule = {
        "match": "all",
        "conditions": [{"field": "NumberOfEmployees", "operator": "gte", "value": 100}],
    }
    return BY_ID | {"filter": rule} | section


def employees(count: int, types: dict[str, str] | None = None) -> Inputs:
    """An account of `count` employees under the `big_accounts` filter."""
    state = a_state(NumberOfEmployees=count)
    known = {"NumberOfEmployees": "int"} if types is None else types
    return Inputs(a_config(accounts=big_accounts()), "Account", RECORD_ID, state, known)


def test_given_twenty_employees_then_gte_100_fails_as_a_number_and_the_record_is_filtered() -> None:
    """As text "20" >= "100" would hold; as the int describe says, it does not."""
    inputs = employees(20)

    found = [(s.rule, s.detail, s.passed) for s in steps(inputs)]

    assert ("condition", "NumberOfEmployees gte 100: int value 20", False) in found
    assert ("filter", "all of 1 conditions", False) in found
    assert decide(inputs) == Skip("filtered")


def test_given_a_thousand_employees_then_the_condition_passes_and_the_account_is_upserted() -> None:
    inputs = employees(1000)

    assert ("condition", True) in [(s.rule, s.passed) for s in steps(inputs)]
    assert isinstance(decide(inputs), GatherUpsert)


def test_given_no_describe_type_yet_then_the_condition_is_undecided_and_the_record_waits() -> None:
    inputs = employees(1000, types={})

    found = {s.rule: s for s in steps(inputs)}

    assert found["condition"].passed is None and "no describe type" in found["condition"].detail
    assert found["filter"].passed is None
    assert decide(inputs) == Skip("types_unknown")


def test_given_closed_won_only_and_no_won_deal_then_the_step_lists_the_deals_and_fails() -> None:
    config = a_config(accounts=BY_ID | {"closed_won_only": True})
    inputs = Inputs(
        config, "Account", RECORD_ID, a_state(Name="A"), {}, {"006A": False, "006B": False}
    )

    found = {s.rule: s for s in steps(inputs)}

    assert (found["closed won"].detail, found["closed won"].passed) == (
        "006A not won, 006B not won",
        False,
    )
    assert decide(inputs) == Skip("not_closed_won")


def test_given_a_won_deal_then_closed_won_passes_and_the_account_is_upserted() -> None:
    config = a_config(accounts=BY_ID | {"closed_won_only": True})
    inputs = Inputs(
        config, "Account", RECORD_ID, a_state(Name="A"), {}, {"006A": False, "006B": True}
    )

    assert {s.rule: s.passed for s in steps(inputs)}["closed won"] is True
    upsert = decide(inputs)
    assert isinstance(upsert, GatherUpsert) and upsert.gather_id == RECORD_ID


def test_given_an_empty_id_field_then_the_id_step_fails_and_the_record_has_no_id() -> None:
    config = a_config(accounts={"sync_mode": "create_new", "id_field": "AccountNumber"})
    inputs = Inputs(config, "Account", RECORD_ID, a_state(Name="A", AccountNumber=""), {})

    found = {s.rule: s for s in steps(inputs)}

    assert found["id"].passed is False and "AccountNumber" in found["id"].detail
    assert decide(inputs) == Skip("no_id")


def test_given_update_existing_then_the_step_names_the_match_trait_and_the_id() -> None:
    config = a_config(accounts={"sync_mode": "update_existing", "match_trait": "salesforce_id"})
    inputs = Inputs(config, "Account", RECORD_ID, a_state(Name="A"), {})

    found = {s.rule: s.detail for s in steps(inputs)}

    assert found["match"] == f"the Gather entity whose trait 'salesforce_id' = '{RECORD_ID}'"


def test_given_an_object_the_config_does_not_sync_then_one_failing_step_says_so() -> None:
    config = a_config(custom_objects=[])
    inputs = Inputs(config, "Lead", RECORD_ID, a_state("Lead", Name="L"), {})

    assert [(s.rule, s.passed) for s in steps(inputs)] == [("section", False)]
    assert decide(inputs) is None


def test_given_a_custom_object_then_its_model_and_id_field_are_the_steps_and_it_is_upserted() -> (
    None
):
    config = a_config(
        custom_objects=[{"object": "Invoice__c", "id_field": "Name", "model": "invoices"}]
    )
    inputs = Inputs(config, "Invoice__c", RECORD_ID, a_state("Invoice__c", Name="INV-7"), {})

    found = [(s.rule, s.detail, s.passed) for s in steps(inputs)]

    assert found[:2] == [
        ("section", "custom object, synced to model 'invoices'", None),
        ("id", "id field Name = 'INV-7'", True),
    ]
    upsert = decide(inputs)
    assert isinstance(upsert, GatherUpsert) and (upsert.model, upsert.gather_id) == (
        "invoices",
        "INV-7",
    )


def test_given_a_deleted_record_then_a_step_says_when_and_the_decision_is_a_delete() -> None:
    gone = a_state(Name="A", deleted_at=2_000)
    inputs = Inputs(a_config(accounts=BY_ID), "Account", RECORD_ID, gone, {})

    found = steps(inputs)

    assert [s.rule for s in found][:3] == ["section", "id", "deleted"]
    assert found[2].detail == "in Salesforce, at 1970-01-01T00:00:02.000Z"
    decision = decide(inputs)
    assert isinstance(decision, GatherUpsert) and decision.op.value == "delete"
