"""Rows are tenant-scoped, records belong to a model, and trait matching uses the index."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, insert, select, text
from sqlalchemy.exc import IntegrityError

from connectors.gather import migrate
from connectors.gather.schema import accounts, models, records


@pytest.fixture
def store(store_engine: Engine) -> Engine:
    migrate.upgrade(store_engine)
    return store_engine


def test_given_two_tenants_when_both_store_one_account_id_then_both_rows_exist(
    store: Engine,
) -> None:
    with store.begin() as db:
        for tenant in ("acme", "globex"):
            db.execute(insert(accounts).values(tenant=tenant, id="acct-1", traits={"name": tenant}))

    with store.connect() as db:
        rows = db.execute(
            select(accounts.c.tenant, accounts.c.traits).order_by(accounts.c.tenant)
        ).all()

    assert [(r.tenant, r.traits) for r in rows] == [
        ("acme", {"name": "acme"}),
        ("globex", {"name": "globex"}),
    ]


def test_given_one_tenant_when_an_account_id_repeats_then_it_is_refused(store: Engine) -> None:
    with store.begin() as db:
        db.execute(insert(accounts).values(tenant="acme", id="acct-1"))

    with pytest.raises(IntegrityError), store.begin() as db:
        db.execute(insert(accounts).values(tenant="acme", id="acct-1"))


def test_given_a_record_of_an_unknown_model_then_it_is_refused(store: Engine) -> None:
    with pytest.raises(IntegrityError), store.begin() as db:
        db.execute(insert(records).values(tenant="acme", model="invoices", id="INV-1"))


def test_given_a_model_of_another_tenant_then_a_record_cannot_use_it(store: Engine) -> None:
    with store.begin() as db:
        db.execute(
            insert(models).values(
                tenant="globex", name="invoices", sf_object="Invoice__c", id_field="Name"
            )
        )

    with pytest.raises(IntegrityError), store.begin() as db:
        db.execute(insert(records).values(tenant="acme", model="invoices", id="INV-1"))


def test_given_a_new_row_then_defaults_fill_traits_versions_and_deleted_mark(store: Engine) -> None:
    with store.begin() as db:
        db.execute(insert(accounts).values(tenant="acme", id="acct-1"))

    with store.connect() as db:
        row = db.execute(select(accounts)).one()

    assert (row.traits, row.trait_versions, row.deleted, row.deleted_version) == (
        {},
        {},
        False,
        None,
    )
    assert row.created_at is not None and row.updated_at is not None


def test_given_many_accounts_on_postgresql_when_matching_by_trait_then_the_gin_index_is_used(
    postgres_engine: Engine,
) -> None:
    migrate.upgrade(postgres_engine)
    rows = [
        {"tenant": f"t{n % 5}", "id": f"acct-{n}", "traits": {"salesforce_id": f"001{n:015d}"}}
        for n in range(20_000)
    ]
    with postgres_engine.begin() as db:
        db.execute(insert(accounts), rows)
        db.execute(text("ANALYZE accounts"))

    with postgres_engine.connect() as db:
        plan = (
            db.execute(
                text(
                    "EXPLAIN SELECT id FROM accounts WHERE tenant = 't3' "
                    "AND traits @> CAST(:match AS jsonb)"
                ),
                {"match": '{"salesforce_id": "001000000000012345"}'},
            )
            .scalars()
            .all()
        )
        found = (
            db.execute(
                text(
                    "SELECT id FROM accounts WHERE tenant = 't0' AND traits @> CAST(:match AS jsonb)"
                ),
                {"match": '{"salesforce_id": "001000000000012345"}'},
            )
            .scalars()
            .all()
        )

    assert any("ix_accounts_traits_gin" in line for line in plan), "\n".join(plan)
    assert found == ["acct-12345"]
