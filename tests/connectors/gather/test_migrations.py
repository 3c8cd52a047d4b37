"""The store's Alembic migrations build, on PostgreSQL and SQLite, exactly the declared schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from connectors.gather import migrate
from connectors.gather.schema import exists_on, metadata

TABLES = {"accounts", "users", "models", "records", "tenant_freshness", "alembic_version"}


def test_given_an_empty_database_when_upgraded_then_every_table_is_there(
    store_engine: Engine,
) -> None:
    migrate.upgrade(store_engine)

    assert set(inspect(store_engine).get_table_names()) == TABLES
    assert migrate.current_revision(store_engine) == "0004"


def test_given_the_migrated_schema_then_it_matches_the_declared_tables(
    store_engine: Engine,
) -> None:
    migrate.upgrade(store_engine)

    with store_engine.connect() as connection:
        dialect = connection.dialect.name
        context = MigrationContext.configure(
            connection,
            opts={"include_object": lambda _o, name, kind, _r, _c: exists_on(dialect, kind, name)},
        )
        diff = compare_metadata(context, metadata)

    assert diff == []


def test_given_a_migrated_database_when_downgraded_and_upgraded_then_it_is_whole_again(
    store_engine: Engine,
) -> None:
    migrate.upgrade(store_engine)

    migrate.downgrade(store_engine)
    assert set(inspect(store_engine).get_table_names()) == {"alembic_version"}
    migrate.upgrade(store_engine)

    assert set(inspect(store_engine).get_table_names()) == TABLES


def test_given_postgresql_then_traits_have_a_gin_index_for_matching(
    postgres_engine: Engine,
) -> None:
    migrate.upgrade(postgres_engine)

    indexes = {ix["name"] for ix in inspect(postgres_engine).get_indexes("accounts")}

    assert {"ix_accounts_traits_gin", "ix_accounts_tenant_sf_id"} <= indexes


def test_given_a_row_deleted_before_reasons_when_upgraded_then_its_reason_is_deleted(
    store_engine: Engine,
) -> None:
    migrate.upgrade(store_engine, "0003")
    with store_engine.begin() as db:
        db.execute(
            text(
                "INSERT INTO accounts (tenant, id, deleted) VALUES "
                "('acme', 'gone', true), ('acme', 'live', false)"
            )
        )

    migrate.upgrade(store_engine)

    with store_engine.connect() as db:
        found = db.execute(text("SELECT id, deleted_reason FROM accounts ORDER BY id")).all()
    assert [tuple(r) for r in found] == [("gone", "deleted"), ("live", None)]
