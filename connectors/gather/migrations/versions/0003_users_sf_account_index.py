"""users: an index on (tenant, sf_account_id) for linking users to accounts

Each batch links the users of the accounts it touched; without this index every link was a scan
of the tenant's users, which the pipeline benchmark showed as the sink's cost growing with the
store.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_users_tenant_sf_account_id", "users", ["tenant", "sf_account_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_users_tenant_sf_account_id", table_name="users")
