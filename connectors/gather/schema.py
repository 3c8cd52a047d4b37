"""The Gather store's tables: accounts, users, custom-model records and the models themselves.

Every key starts with the tenant, so no row is reachable without naming its tenant. Traits are
JSON (JSONB on PostgreSQL) with one version per trait in `trait_versions` (text in
`schemas.versions.Version.encode` form, whose string order is the version order), so the sink can
write a trait only when its version is newer. Deletes are marks with their own version, so an
older upsert replayed after a delete cannot resurrect the row, and carry their reason
(`deleted_reason`: the record was deleted, or its id field moved it to another Gather id).

Update-existing mode finds the row whose trait equals a Salesforce id. On PostgreSQL a GIN
`jsonb_path_ops` index answers `traits @> '{"trait": "value"}'` without a scan:
https://www.postgresql.org/docs/current/datatype-json.html#JSON-INDEXING
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKeyConstraint,
    Index,
    MetaData,
    String,
    Table,
    false,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

TENANT = String(63)
SF_ID = String(18)
GATHER_ID = String(255)
VERSION = String(47)
DELETE_REASON = String(31)  # schemas.gather.DeleteReason
Traits = JSON().with_variant(JSONB(), "postgresql")


def _entity_columns() -> list[Column[object]]:
    """Columns every synced entity has, after its key."""
    return [
        Column("sf_id", SF_ID, nullable=True, comment="Salesforce record id, once linked"),
        Column("traits", Traits, nullable=False, server_default=text("'{}'")),
        Column("trait_versions", Traits, nullable=False, server_default=text("'{}'")),
        Column("deleted", Boolean, nullable=False, server_default=false()),
        Column(
            "deleted_version", VERSION, nullable=True, comment="version of the last delete/undelete"
        ),
        Column(
            "deleted_reason",
            DELETE_REASON,
            nullable=True,
            comment="why the row is deleted (deleted, id_changed); NULL while live",
        ),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    ]


accounts = Table(
    "accounts",
    metadata,
    Column("tenant", TENANT, primary_key=True),
    Column("id", GATHER_ID, primary_key=True, comment="the Gather account id"),
    *_entity_columns(),
    Index("ix_accounts_tenant_sf_id", "tenant", "sf_id"),
)

users = Table(
    "users",
    metadata,
    Column("tenant", TENANT, primary_key=True),
    Column("id", GATHER_ID, primary_key=True, comment="the Gather user id"),
    Column("account_id", GATHER_ID, nullable=True, comment="the Gather account this user is in"),
    Column("sf_account_id", SF_ID, nullable=True, comment="the contact's Salesforce AccountId"),
    *_entity_columns(),
    Index("ix_users_tenant_sf_id", "tenant", "sf_id"),
    Index("ix_users_tenant_account_id", "tenant", "account_id"),
    Index("ix_users_tenant_sf_account_id", "tenant", "sf_account_id"),  # linking, per batch
)

models = Table(
    "models",
    metadata,
    Column("tenant", TENANT, primary_key=True),
    Column("name", String(63), primary_key=True),
    Column("sf_object", String(255), nullable=False),
    Column("id_field", String(255), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

records = Table(
    "records",
    metadata,
    Column("tenant", TENANT, primary_key=True),
    Column("model", String(63), primary_key=True),
    Column("id", GATHER_ID, primary_key=True, comment="the value of the model's id field"),
    *_entity_columns(),
    ForeignKeyConstraint(["tenant", "model"], ["models.tenant", "models.name"]),
    Index("ix_records_tenant_model_sf_id", "tenant", "model", "sf_id"),
)

freshness = Table(
    "tenant_freshness",
    metadata,
    Column("tenant", TENANT, primary_key=True),
    Column(
        "newest_commit_at",
        DateTime(timezone=True),
        nullable=False,
        comment="the newest Salesforce commit time applied to this tenant's rows",
    ),
    Column("applied_at", DateTime(timezone=True), nullable=False, comment="when it was applied"),
)

POSTGRESQL_ONLY_INDEXES = {f"ix_{t.name}_traits_gin" for t in (accounts, users, records)}


def exists_on(dialect: str, kind: str, name: str | None) -> bool:
    """Whether a schema object is meant to exist on a dialect (for Alembic's comparisons)."""
    return not (kind == "index" and name in POSTGRESQL_ONLY_INDEXES and dialect != "postgresql")


# Trait-match indexes exist only on PostgreSQL (SQLite has no GIN); see the module docstring.
for _table in (accounts, users, records):
    Index(
        f"ix_{_table.name}_traits_gin",
        _table.c.traits,
        postgresql_using="gin",
        postgresql_ops={"traits": "jsonb_path_ops"},
    ).ddl_if(dialect="postgresql")
