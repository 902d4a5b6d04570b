"""Billing: per-key credit balances, and the usage index the paginated queries walk.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL = unlimited (no credits are reserved for the key).
    op.add_column("api_keys", sa.Column("balance_nano_usd", sa.BigInteger, nullable=True))
    # Usage pages are ordered by (created_at, request_id) within a key: one index serves the
    # key filter, the time range and the keyset cursor. It supersedes (api_key_id, created_at).
    op.create_index(
        "ix_usage_key_created_rid", "usage_records", ["api_key_id", "created_at", "request_id"]
    )
    op.drop_index("ix_usage_key_created", table_name="usage_records")


def downgrade() -> None:
    op.create_index("ix_usage_key_created", "usage_records", ["api_key_id", "created_at"])
    op.drop_index("ix_usage_key_created_rid", table_name="usage_records")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("balance_nano_usd")
