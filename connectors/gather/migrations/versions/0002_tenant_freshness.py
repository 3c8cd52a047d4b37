"""tenant_freshness: the newest Salesforce commit applied to the store, per tenant

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenant_freshness",
        sa.Column("tenant", sa.String(63), nullable=False),
        sa.Column(
            "newest_commit_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="the newest Salesforce commit time applied to this tenant's rows",
        ),
        sa.Column(
            "applied_at", sa.DateTime(timezone=True), nullable=False, comment="when it was applied"
        ),
        sa.PrimaryKeyConstraint("tenant", name=op.f("pk_tenant_freshness")),
    )


def downgrade() -> None:
    op.drop_table("tenant_freshness")
