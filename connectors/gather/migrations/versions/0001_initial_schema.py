"""initial schema: accounts, users, models, records

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TRAITS = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
GIN_TABLES = ("accounts", "users", "records")


def _entity_columns() -> list[sa.Column[object]]:
    return [
        sa.Column(
            "sf_id", sa.String(18), nullable=True, comment="Salesforce record id, once linked"
        ),
        sa.Column("traits", TRAITS, server_default=sa.text("'{}'"), nullable=False),
        sa.Column("trait_versions", TRAITS, server_default=sa.text("'{}'"), nullable=False),
        sa.Column("deleted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column(
            "deleted_version",
            sa.String(47),
            nullable=True,
            comment="version of the last delete/undelete",
        ),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column("id", sa.String(255), nullable=False, comment="the Gather account id"),
        *_entity_columns(),
        sa.PrimaryKeyConstraint("tenant", "id", name=op.f("pk_accounts")),
    )
    op.create_index("ix_accounts_tenant_sf_id", "accounts", ["tenant", "sf_id"])
    op.create_table(
        "models",
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("sf_object", sa.String(255), nullable=False),
        sa.Column("id_field", sa.String(255), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("tenant", "name", name=op.f("pk_models")),
    )
    op.create_table(
        "users",
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column("id", sa.String(255), nullable=False, comment="the Gather user id"),
        sa.Column(
            "account_id",
            sa.String(255),
            nullable=True,
            comment="the Gather account this user is in",
        ),
        sa.Column(
            "sf_account_id",
            sa.String(18),
            nullable=True,
            comment="the contact's Salesforce AccountId",
        ),
        *_entity_columns(),
        sa.PrimaryKeyConstraint("tenant", "id", name=op.f("pk_users")),
    )
    op.create_index("ix_users_tenant_account_id", "users", ["tenant", "account_id"])
    op.create_index("ix_users_tenant_sf_id", "users", ["tenant", "sf_id"])
    op.create_table(
        "records",
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column("model", sa.String(63), nullable=False),
        sa.Column(
            "id", sa.String(255), nullable=False, comment="the value of the model's id field"
        ),
        *_entity_columns(),
        sa.ForeignKeyConstraint(
            ["tenant", "model"],
            ["models.tenant", "models.name"],
            name=op.f("fk_records_tenant_models"),
        ),
        sa.PrimaryKeyConstraint("tenant", "model", "id", name=op.f("pk_records")),
    )
    op.create_index("ix_records_tenant_model_sf_id", "records", ["tenant", "model", "sf_id"])
    # GIN jsonb_path_ops for update-existing matching (traits @> {...}); PostgreSQL only.
    if op.get_bind().dialect.name == "postgresql":
        for table in GIN_TABLES:
            op.create_index(
                f"ix_{table}_traits_gin",
                table,
                ["traits"],
                postgresql_using="gin",
                postgresql_ops={"traits": "jsonb_path_ops"},
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in GIN_TABLES:
            op.drop_index(f"ix_{table}_traits_gin", table_name=table)
    op.drop_table("records")
    op.drop_table("users")
    op.drop_table("models")
    op.drop_table("accounts")
