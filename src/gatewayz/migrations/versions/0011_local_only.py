"""Registry entries served by the gateway but never pushed to the Hub (``local_only``).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("registry_models") as batch:
        batch.add_column(
            sa.Column("local_only", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("registry_models") as batch:
        batch.drop_column("local_only")
