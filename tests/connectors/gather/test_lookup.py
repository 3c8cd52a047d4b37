"""Reading one record's rows back for `explain`, on both stores: by Salesforce id, by the Gather
id a record moved to, and by the trait update-existing matches on; never another tenant's."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, insert

from connectors.gather import lookup, migrate
from connectors.gather.schema import accounts
from connectors.gather.store import SqlStore
from schemas.gather import EntityKind, Target
from schemas.versions import Version
from tests.builders import an_upsert

SF_ID = "001Dn0000000001IAA"
NOW = datetime(2026, 11, 30, tzinfo=UTC)


@pytest.fixture
def engine(store_engine: Engine) -> Engine:
    migrate.upgrade(store_engine)
    return store_engine


def test_given_rows_of_two_tenants_then_only_the_asked_tenants_row_is_read(engine: Engine) -> None:
    store = SqlStore.for_engine(engine)
    for tenant in ("acme", "other"):
        store.apply([an_upsert(tenant=tenant, sf_id=SF_ID, gather_id=f"{tenant}-1")], NOW)

    found = lookup.rows_of(engine, "acme", EntityKind.ACCOUNT, SF_ID)

    assert [(r["tenant"], r["id"], r["sf_id"]) for r in found] == [("acme", "acme-1", SF_ID)]


def test_given_a_gather_id_with_no_salesforce_id_yet_then_it_is_found_by_that_id(
    engine: Engine,
) -> None:
    with engine.begin() as db:
        db.execute(insert(accounts).values(tenant="acme", id="g-1", traits={"name": "A"}))

    assert lookup.rows_of(engine, "acme", EntityKind.ACCOUNT, SF_ID) == []
    (found,) = lookup.rows_of(engine, "acme", EntityKind.ACCOUNT, SF_ID, gather_id="g-1")
    assert found["traits"] == {"name": "A"}


def test_given_an_entity_whose_trait_holds_the_salesforce_id_then_update_existing_finds_it(
    engine: Engine,
) -> None:
    with engine.begin() as db:
        db.execute(insert(accounts).values(tenant="acme", id="g-2", traits={"sfid": SF_ID}))
        db.execute(insert(accounts).values(tenant="acme", id="g-3", traits={"sfid": "other"}))

    found = lookup.rows_of(engine, "acme", EntityKind.ACCOUNT, SF_ID, match_trait="sfid")

    assert [r["id"] for r in found] == ["g-2"]


def test_given_a_matched_upsert_applied_then_the_row_is_found_by_salesforce_id(
    engine: Engine,
) -> None:
    with engine.begin() as db:
        db.execute(insert(accounts).values(tenant="acme", id="g-4", traits={"sfid": SF_ID}))
    matched = an_upsert(
        sf_id=SF_ID,
        target=Target.MATCH,
        gather_id=None,
        match_trait="sfid",
        version=Version(commit_ts=5),
        traits={"name": "B"},
        trait_versions={"name": Version(commit_ts=5)},
    )
    SqlStore.for_engine(engine).apply([matched], NOW)

    (found,) = lookup.rows_of(engine, "acme", EntityKind.ACCOUNT, SF_ID)

    assert found["id"] == "g-4" and found["traits"]["name"] == "B"
