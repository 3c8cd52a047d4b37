"""Reprocessing from the worker's changelogs: the tenant's rules over its stored state, the
deals deciding closed-won, other tenants' records untouched."""

from __future__ import annotations

import json

from schemas.changes import ChangeType, SalesforceChange
from streams import state_codec
from streams.merge import apply
from streams.reprocess import decode_deals, decode_records, reevaluate
from tests.builders import org_types
from tests.streams.test_evaluator import ACME, OTHER, change, config


def changelog_of(*changes: SalesforceChange) -> dict[str, bytes]:
    """Records' states as the worker's changelog holds them: the compact form, and one record
    as RecordState's JSON (written before the compact form; both read back)."""
    states = [(json.dumps(c.key), apply(None, c)) for c in changes]
    compact = {key: state_codec.encode(state) for key, state in states[1:]}
    return {states[0][0]: states[0][1].model_dump_json().encode()} | compact


def test_given_state_of_two_tenants_when_one_is_reprocessed_then_only_its_won_accounts_come_out() -> (
    None
):
    records = changelog_of(
        change("Account", ACME, 1, ChangeType.CREATE, Name="Acme", AccountNumber="A-1"),
        change("Account", OTHER, 1, ChangeType.CREATE, Name="Lost Co", AccountNumber="A-2"),
        change("Account", ACME, 1, ChangeType.CREATE, tenant="globex", Name="G", AccountNumber="G"),
    )
    deals = {
        json.dumps(f"acme:Account:{ACME}"): json.dumps({"006Dn0000000001IAA": True}).encode(),
        json.dumps(f"acme:Account:{OTHER}"): json.dumps({"006Dn0000000002IAA": False}).encode(),
    }

    upserts = reevaluate(config("acme"), decode_records(records), decode_deals(deals), org_types)

    assert [(u.tenant, u.gather_id, u.traits["name"]) for u in upserts] == [("acme", "A-1", "Acme")]


def test_given_no_state_for_the_tenant_then_nothing_is_published() -> None:
    records = changelog_of(change("Account", ACME, 1, ChangeType.CREATE, tenant="globex", Name="G"))

    assert reevaluate(config("acme"), decode_records(records), {}, org_types) == []
