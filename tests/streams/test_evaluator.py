"""The worker's logic: closed-won flips re-evaluate the account at once, config changes
re-evaluate from state, and tenants never see each other's records."""

from __future__ import annotations

from typing import Any

from schemas.changes import ChangeType, SalesforceChange
from schemas.gather import DeleteReason, GatherUpsert, Operation
from schemas.loader import validate_tenant_config
from schemas.tenant import TenantConfig
from schemas.versions import Version
from streams.evaluator import Evaluator
from streams.merge import RecordState
from tests.builders import a_tenant_config, org_types

ACME = "001Dn0000000001IAA"
OTHER = "001Dn0000000002IAA"
DEAL = "006Dn0000000001IAA"


def config(tenant: str = "acme", **accounts: Any) -> TenantConfig:
    document = a_tenant_config(
        tenant=tenant,
        accounts={"sync_mode": "create_new", "id_field": "AccountNumber", "closed_won_only": True}
        | accounts,
    )
    return validate_tenant_config(document)


def change(
    obj: str,
    record_id: str,
    ts: int,
    kind: ChangeType = ChangeType.UPDATE,
    tenant: str = "acme",
    **fields: Any,
) -> SalesforceChange:
    return SalesforceChange(
        tenant=tenant,
        object=obj,
        record_id=record_id,
        change_type=kind,
        version=Version(commit_ts=ts),
        fields=fields,
    )


def an_evaluator(*configs: TenantConfig) -> Evaluator:
    records: dict[str, RecordState] = {}
    deals: dict[str, dict[str, bool]] = {}
    return Evaluator(records, deals, {c.tenant: c for c in configs}, org_types)


def names(upserts: list[GatherUpsert]) -> list[tuple[str, Operation]]:
    return [(str(u.traits.get("name", u.gather_id)), u.op) for u in upserts]


def test_given_closed_won_only_then_an_account_syncs_when_a_deal_is_won_and_stops_when_lost() -> (
    None
):
    evaluator = an_evaluator(config())
    quiet = evaluator.on_change(
        change("Account", ACME, 1, ChangeType.CREATE, Name="Acme", AccountNumber="A-1")
    )
    opened = evaluator.on_change(
        change("Opportunity", DEAL, 2, ChangeType.CREATE, AccountId=ACME, IsWon=False)
    )
    won = evaluator.on_change(change("Opportunity", DEAL, 3, IsWon=True))
    edited = evaluator.on_change(change("Account", ACME, 4, Name="Acme Corp"))
    lost = evaluator.on_change(change("Opportunity", DEAL, 5, IsWon=False))
    after_loss = evaluator.on_change(change("Account", ACME, 6, Name="Acme Ltd"))

    assert (quiet, opened) == ([], [])
    assert names(won) == [("Acme", Operation.UPSERT)]  # re-evaluated at once, in full
    assert names(edited) == [("Acme Corp", Operation.UPSERT)]
    assert lost == [] and after_loss == []  # no longer updated, not deleted


def test_given_a_won_deal_moved_to_another_account_then_both_accounts_are_re_evaluated() -> None:
    evaluator = an_evaluator(config())
    for record_id, number in ((ACME, "A-1"), (OTHER, "A-2")):
        evaluator.on_change(
            change("Account", record_id, 1, ChangeType.CREATE, Name=number, AccountNumber=number)
        )
    evaluator.on_change(
        change("Opportunity", DEAL, 2, ChangeType.CREATE, AccountId=ACME, IsWon=True)
    )

    moved = evaluator.on_change(change("Opportunity", DEAL, 3, AccountId=OTHER))

    assert names(moved) == [("A-2", Operation.UPSERT)]
    assert evaluator.deals["acme:Account:" + ACME] == {}
    assert evaluator.on_change(change("Account", ACME, 4, Name="A-1 edited")) == []


def test_given_the_won_deal_deleted_then_the_account_stops_qualifying() -> None:
    evaluator = an_evaluator(config())
    evaluator.on_change(
        change("Account", ACME, 1, ChangeType.CREATE, Name="Acme", AccountNumber="A-1")
    )
    evaluator.on_change(
        change("Opportunity", DEAL, 2, ChangeType.CREATE, AccountId=ACME, IsWon=True)
    )

    evaluator.on_change(change("Opportunity", DEAL, 3, ChangeType.DELETE))

    assert evaluator.on_change(change("Account", ACME, 4, Name="x")) == []


def test_given_a_config_change_then_records_are_re_evaluated_from_state_with_the_new_traits() -> (
    None
):
    before = config(closed_won_only=False)
    evaluator = an_evaluator(before)
    evaluator.on_change(
        change(
            "Account", ACME, 1, ChangeType.CREATE, Name="Acme", AccountNumber="A-1", AnnualRevenue=5
        )
    )
    after = config(closed_won_only=False, extra_traits=["AnnualRevenue"])
    evaluator.configs = {"acme": after}

    [upsert] = evaluator.on_config(after)

    assert upsert.traits == {"name": "Acme", "annual_revenue": 5}


def test_given_two_tenants_with_one_record_id_then_each_sees_only_its_own() -> None:
    evaluator = an_evaluator(
        config("acme", closed_won_only=False), config("globex", closed_won_only=False)
    )

    mine = evaluator.on_change(
        change("Account", ACME, 1, ChangeType.CREATE, Name="Acme", AccountNumber="A")
    )
    theirs = evaluator.on_change(
        change(
            "Account", ACME, 1, ChangeType.CREATE, tenant="globex", Name="Globex", AccountNumber="G"
        )
    )

    assert [(u.tenant, u.gather_id) for u in mine + theirs] == [("acme", "A"), ("globex", "G")]
    assert evaluator.records["acme:Account:" + ACME].fields["Name"].value == "Acme"


def test_given_no_config_for_a_tenant_then_state_is_kept_and_nothing_is_sent() -> None:
    evaluator = an_evaluator()

    assert evaluator.on_change(change("Account", ACME, 1, ChangeType.CREATE, Name="Acme")) == []
    assert "acme:Account:" + ACME in evaluator.records


def test_given_opportunities_synced_as_a_custom_object_when_one_changes_then_it_is_upserted_at_once_and_still_counts_for_closed_won() -> (
    None
):
    """The guide syncs any object as a custom object; an Opportunity also decides its account's
    closed-won. Its change was only tracked as a deal, and its record sent only when a config
    or types change re-evaluated the tenant."""
    document = a_tenant_config(
        tenant="acme",
        accounts={"sync_mode": "create_new", "id_field": "AccountNumber", "closed_won_only": True},
        custom_objects=[{"object": "Opportunity", "id_field": "Name", "model": "deals"}],
    )
    evaluator = an_evaluator(validate_tenant_config(document))
    evaluator.on_change(change("Account", ACME, 1, ChangeType.CREATE, AccountNumber="A-1"))

    upserts = evaluator.on_change(
        change("Opportunity", DEAL, 2, ChangeType.CREATE, Name="Big deal", AccountId=ACME,
               IsWon=True)
    )  # fmt: skip

    sent = {(u.kind.value, u.gather_id, u.model) for u in upserts}
    assert sent == {("record", "Big deal", "deals"), ("account", "A-1", None)}
    deal = next(u for u in upserts if u.model == "deals")
    assert (deal.traits["name"], deal.traits["is_won"]) == ("Big deal", True)


def test_given_deals_before_the_config_then_closed_won_holds_once_the_config_arrives() -> None:
    evaluator = an_evaluator()
    evaluator.on_change(
        change("Account", ACME, 1, ChangeType.CREATE, Name="Acme", AccountNumber="A-1")
    )
    evaluator.on_change(
        change("Opportunity", DEAL, 2, ChangeType.CREATE, AccountId=ACME, IsWon=True)
    )
    late = config()
    evaluator.configs = {"acme": late}

    assert names(evaluator.on_config(late)) == [("Acme", Operation.UPSERT)]


def test_given_create_mode_when_the_id_field_changes_then_the_old_id_is_deleted_as_id_changed() -> (
    None
):
    evaluator = an_evaluator(config(closed_won_only=False))
    evaluator.on_change(change("Account", ACME, 1, ChangeType.CREATE, Name="A", AccountNumber="X"))

    moved = evaluator.on_change(change("Account", ACME, 2, AccountNumber="Y"))
    back = evaluator.on_change(change("Account", ACME, 3, AccountNumber="X"))

    assert [(u.gather_id, u.op, u.delete_reason, u.version.commit_ts) for u in moved] == [
        ("X", Operation.DELETE, DeleteReason.ID_CHANGED, 2),
        ("Y", Operation.UPSERT, None, 2),
    ]
    # X -> Y -> X: the upsert under X is newer than X's id_changed delete, so it revives X
    assert [(u.gather_id, u.op, u.version.commit_ts) for u in back] == [
        ("Y", Operation.DELETE, 3),
        ("X", Operation.UPSERT, 3),
    ]


def test_given_create_mode_when_the_id_field_is_empty_then_the_record_is_skipped_and_counted() -> (
    None
):
    skips: list[tuple[str, str, str]] = []
    evaluator = an_evaluator(config(closed_won_only=False))
    evaluator.on_skip = lambda *skip: skips.append(skip)

    sent = evaluator.on_change(change("Account", ACME, 1, ChangeType.CREATE, Name="A"))

    assert sent == [] and skips == [("acme", "Account", "no_id")]


def test_given_an_older_replay_of_the_id_field_then_no_row_is_deleted() -> None:
    evaluator = an_evaluator(config(closed_won_only=False))
    evaluator.on_change(change("Account", ACME, 1, ChangeType.CREATE, Name="A", AccountNumber="X"))
    evaluator.on_change(change("Account", ACME, 3, AccountNumber="Y"))

    replayed = evaluator.on_change(change("Account", ACME, 2, AccountNumber="Z"))

    assert [(u.gather_id, u.op) for u in replayed] == [("Y", Operation.UPSERT)]


def test_given_a_typed_filter_then_numbers_compare_as_numbers_and_unknown_types_wait() -> None:
    rule = {
        "match": "all",
        "conditions": [{"field": "NumberOfEmployees", "operator": "gte", "value": 10}],
    }
    typed = an_evaluator(config(closed_won_only=False, filter=rule))
    untyped = Evaluator({}, {}, typed.configs, lambda _t, _o: {})
    employees = {"A-2": 2, "A-9": 9, "A-10": 10, "A-100": 100}

    synced = [
        u.gather_id
        for n, (number, count) in enumerate(employees.items())
        for u in typed.on_change(
            change(
                "Account",
                f"001Dn000000000{n}IAA",
                1,
                ChangeType.CREATE,
                AccountNumber=number,
                NumberOfEmployees=count,
            )
        )
    ]
    waiting = untyped.on_change(
        change("Account", ACME, 1, ChangeType.CREATE, AccountNumber="A-9", NumberOfEmployees=9)
    )

    assert synced == ["A-10", "A-100"]
    assert waiting == []


def test_given_a_deleted_account_that_no_longer_qualifies_when_undeleted_then_only_its_mark_is_cleared() -> (
    None
):
    evaluator = an_evaluator(config())  # closed won only, and the account has no won deal
    evaluator.on_change(change("Account", ACME, 1, ChangeType.CREATE, Name="A", AccountNumber="X"))
    never_deleted = evaluator.on_change(change("Account", ACME, 2, Name="B"))
    evaluator.on_change(change("Account", ACME, 3, ChangeType.DELETE))

    undeleted = evaluator.on_change(change("Account", ACME, 4, ChangeType.UNDELETE, Name="B"))

    assert never_deleted == []  # a record never deleted has no mark to clear: nothing is sent
    assert [(u.gather_id, u.op, u.traits, u.version.commit_ts) for u in undeleted] == [
        ("X", Operation.UNDELETE, {}, 4)
    ]
