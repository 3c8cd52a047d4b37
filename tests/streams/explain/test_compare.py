"""The standing of a record and its likely cause, from the upsert the rules give and what the
store, the DLQs and the groups' lag show (a table of the cases a support engineer meets)."""

from __future__ import annotations

import pytest

from schemas.gather import DeleteReason, EntityKind, GatherUpsert, Operation, Target
from schemas.versions import Version
from streams.explain.compare import Findings, differences, verdict
from streams.explain.model import Verdict
from streams.rules.entities import Skip
from tests.builders import an_upsert
from tests.streams.explain.builders import RECORD_ID, a_row, findings


def upsert(ts: int = 1_000, /, **traits: object) -> GatherUpsert:
    version = Version(commit_ts=ts)
    return an_upsert(
        sf_id=RECORD_ID,
        gather_id=RECORD_ID,
        version=version,
        traits=traits,
        trait_versions=dict.fromkeys(traits, version),
    )


def matched(**traits: object) -> GatherUpsert:
    return upsert(**traits).model_copy(
        update={"target": Target.MATCH, "gather_id": None, "match_trait": "salesforce_id"}
    )


def deleted() -> GatherUpsert:
    return upsert().model_copy(
        update={"op": Operation.DELETE, "delete_reason": DeleteReason.DELETED, "traits": {}}
    )


CASES = [
    # (decision, findings, standing, a phrase of the first cause)
    (upsert(name="A"), findings([a_row(name="A")]), Verdict.SYNCED, "holds what the rules give"),
    (upsert(name="A"), findings(sink=5), Verdict.WAITING, "the sink has 5 unread"),
    (upsert(name="B"), findings([a_row(name="A")], worker=2), Verdict.WAITING, "the worker has 2"),
    (
        upsert(name="A"),
        findings(letters=1, sink=5),
        Verdict.DEAD_LETTERED,
        "in gather.accounts.dlq",
    ),
    (upsert(name="B"), findings([a_row(name="A")]), Verdict.DIFFERENT, "nothing is pending"),
    (matched(name="A"), findings(), Verdict.SKIPPED, "update-existing mode creates none"),
    (matched(name="A"), findings(sink=1), Verdict.WAITING, "the sink has 1 unread"),
    (deleted(), findings([a_row(deleted=True)]), Verdict.SYNCED, "marked deleted"),
    (deleted(), findings([a_row(name="A")], sink=3), Verdict.WAITING, "the sink has 3 unread"),
    (Skip("filtered"), findings(), Verdict.SKIPPED, "filter holds it back"),
    (Skip("not_closed_won"), findings(), Verdict.SKIPPED, "Closed Won"),
    (Skip("no_id"), findings(), Verdict.SKIPPED, "id field is empty"),
]


@pytest.mark.parametrize(("decision", "found", "standing", "cause"), CASES)
def test_given_a_decision_and_the_store_then_the_standing_and_its_first_cause_are_named(
    decision: GatherUpsert | Skip, found: Findings, standing: Verdict, cause: str
) -> None:
    got, causes = verdict(decision, found)

    assert got is standing
    assert any(cause in line for line in causes), causes


def test_given_a_skipped_record_with_a_row_then_the_row_is_said_to_stay_as_last_synced() -> None:
    _, causes = verdict(Skip("filtered"), findings([a_row(name="A")]))

    assert f"its row '{RECORD_ID}' stays as last synced" in causes


def test_given_an_id_that_moved_then_the_old_row_is_named_beside_a_synced_new_one() -> None:
    rows = [a_row(id="old-id", deleted=True), a_row(name="A")]

    got, causes = verdict(upsert(name="A"), findings(rows))

    assert got is Verdict.SYNCED
    assert any("old id 'old-id'" in line and "id_changed" in line for line in causes)


def test_given_a_stored_trait_at_another_value_then_the_difference_shows_both_versions() -> None:
    (found,) = differences(upsert(2_000, name="B", city="X"), a_row(ts=1_000, name="A", city="X"))

    assert (found.trait, found.expected, found.stored) == ("name", "B", "A")
    assert found.expected_version == Version(commit_ts=2_000).encode()
    assert found.stored_version == Version(commit_ts=1_000).encode()


def test_given_no_row_then_every_trait_is_a_difference() -> None:
    assert [d.trait for d in differences(upsert(name="A", city="X"), None)] == ["city", "name"]


def test_given_a_user_kind_then_its_row_is_found_by_its_gather_id_too() -> None:
    user = upsert(name="A").model_copy(update={"kind": EntityKind.USER})

    assert verdict(user, findings([a_row(name="A")]))[0] is Verdict.SYNCED
