"""Conformance checks: the last ``gatewayz hf check`` result per model, and when a model
last changed in what it serves (everything but its status), so an older check is stale.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("registry_models") as batch:
        batch.add_column(sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True))
    # Entries written before this migration changed last at their last update, at worst.
    op.execute("UPDATE registry_models SET changed_at = updated_at")
    op.create_table(
        "model_checks",
        sa.Column("model_id", sa.String(200), primary_key=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("passed", sa.Boolean, nullable=False),
        sa.Column("probes", sa.JSON, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("model_checks")
    with op.batch_alter_table("registry_models") as batch:
        batch.drop_column("changed_at")
