"""accounts, users, records: deleted_reason, why a row is marked deleted

A create-mode record whose id field changes leaves its old row deleted with reason `id_changed`;
a Salesforce delete gives `deleted`. Rows deleted before this revision were Salesforce deletes
(no other delete existed), so they get `deleted`.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = ("accounts", "users", "records")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(
            table,
            sa.Column(
                "deleted_reason",
                sa.String(31),
                nullable=True,
                comment="why the row is deleted (deleted, id_changed); NULL while live",
            ),
        )
        op.execute(sa.text(f"UPDATE {table} SET deleted_reason = 'deleted' WHERE deleted"))


def downgrade() -> None:
    for table in TABLES:
        # batch mode: SQLite rebuilds the table where it cannot drop a column in place
        with op.batch_alter_table(table) as batch:
            batch.drop_column("deleted_reason")
