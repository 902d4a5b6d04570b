"""Table definitions (SQLAlchemy Core). The Alembic migrations are the source of truth for
the schema; these mirror them for queries, and a test checks the two agree."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
)

metadata = MetaData()

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    # The public lookup part of the key; the secret part is only ever stored hashed.
    Column("prefix", String(32), nullable=False, unique=True),
    Column("key_hash", String(64), nullable=False),
    Column("is_admin", Boolean, nullable=False, default=False),
    Column("is_partner", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

usage_records = Table(
    "usage_records",
    metadata,
    Column("request_id", String(36), primary_key=True),
    Column("api_key_id", Integer, ForeignKey("api_keys.id"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("route", String(64), nullable=False),
    Column("model", String(200), nullable=False),
    Column("task", String(64), nullable=False),
    Column("provider", String(200), nullable=False),
    Column("input_tokens", Integer, nullable=False),
    Column("output_tokens", Integer, nullable=False),
    Column("images", Integer, nullable=False, default=0),
    Column("input_chars", Integer, nullable=False, default=0),
    Column("cost_nano_usd", BigInteger, nullable=False),
    Column("latency_ms", Integer, nullable=False),
    Column("status", Integer, nullable=False),
    Index("ix_usage_key_created", "api_key_id", "created_at"),
    Index("ix_usage_created", "created_at"),
    Index("ix_usage_model_created", "model", "created_at"),
    Index("ix_usage_task_created", "task", "created_at"),
)
