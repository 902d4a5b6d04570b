"""Routing that learns: a model's default routing policy and each route's upstream cost.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("registry_models") as batch:
        batch.add_column(sa.Column("policy", sa.String(16), nullable=True))
    with op.batch_alter_table("registry_routes") as batch:
        batch.add_column(sa.Column("cost", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("registry_routes") as batch:
        batch.drop_column("cost")
    with op.batch_alter_table("registry_models") as batch:
        batch.drop_column("policy")
