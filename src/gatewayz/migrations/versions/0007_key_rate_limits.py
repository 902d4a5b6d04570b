"""Per-key rate limits: requests and tokens per minute, requests in flight. NULL takes the
configuration's default; 0 means no limit for this key.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_COLUMNS = ("rate_rpm", "rate_tpm", "max_concurrency")


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        for name in _COLUMNS:
            batch.add_column(sa.Column(name, sa.BigInteger, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        for name in reversed(_COLUMNS):
            batch.drop_column(name)
