"""Usage counts in 64-bit columns, what a record did not charge and why, and the instances
that own credit holds (so that a dead instance's holds are settled within seconds).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_COUNTS = ("input_tokens", "output_tokens", "images", "input_chars", "latency_ms")


def upgrade() -> None:
    with op.batch_alter_table("usage_records") as batch:
        for name in _COUNTS:
            batch.alter_column(name, type_=sa.BigInteger, existing_nullable=False)
        batch.add_column(
            sa.Column("uncharged_nano_usd", sa.BigInteger, nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("flags", sa.String(64), nullable=False, server_default=""))
    op.create_table(
        "gateway_instances",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("credit_holds") as batch:
        batch.add_column(sa.Column("instance_id", sa.String(36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("credit_holds") as batch:
        batch.drop_column("instance_id")
    op.drop_table("gateway_instances")
    with op.batch_alter_table("usage_records") as batch:
        batch.drop_column("flags")
        batch.drop_column("uncharged_nano_usd")
        for name in _COUNTS:
            batch.alter_column(name, type_=sa.Integer, existing_nullable=False)
