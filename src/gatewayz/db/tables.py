"""Table definitions (SQLAlchemy Core). The Alembic migrations are the source of truth for
the schema; these mirror them for queries, and a test checks the two agree."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
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
    false,
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
    # Prepaid credits in nano-USD; NULL means unlimited (see services/credits.py).
    Column("balance_nano_usd", BigInteger, nullable=True),
    # Rate limits (migration 0007): NULL takes the configuration's default, 0 is no limit.
    Column("rate_rpm", BigInteger, nullable=True),
    Column("rate_tpm", BigInteger, nullable=True),
    Column("max_concurrency", BigInteger, nullable=True),
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
    Column("input_tokens", BigInteger, nullable=False),
    Column("output_tokens", BigInteger, nullable=False),
    Column("images", BigInteger, nullable=False, default=0),
    Column("input_chars", BigInteger, nullable=False, default=0),
    Column("cost_nano_usd", BigInteger, nullable=False),
    Column("latency_ms", BigInteger, nullable=False),
    Column("status", Integer, nullable=False),
    # What the request's usage would have cost beyond what was charged (a credit hold it
    # outgrew, or an upstream report past the request's bounds), and why: see ``flags``.
    Column("uncharged_nano_usd", BigInteger, nullable=False, server_default="0"),
    # Comma-separated: ``hold_exceeded``, ``usage_implausible``.
    Column("flags", String(64), nullable=False, server_default=""),
    Index("ix_usage_key_created_rid", "api_key_id", "created_at", "request_id"),
    Index("ix_usage_created", "created_at"),
    Index("ix_usage_model_created", "model", "created_at"),
    Index("ix_usage_task_created", "task", "created_at"),
)

# The model registry (migration 0003). Prices are decimal strings, never floats.
registry_models = Table(
    "registry_models",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("hub_model_id", String(200), nullable=False),
    Column("task", String(64), nullable=False),
    Column("extra_tasks", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("context_length", Integer, nullable=False),
    Column("input_per_million_usd", String(40), nullable=False),
    Column("output_per_million_usd", String(40), nullable=False),
    Column("per_image_usd", String(40), nullable=False),
    Column("per_request_usd", String(40), nullable=False),
    Column("per_1k_chars_usd", String(40), nullable=False),
    Column("adapter_type", String(16), nullable=True),
    Column("base_model", String(200), nullable=True),
    Column("tokenizer", String(500), nullable=True),
    # The default routing policy, "fastest" or "cheapest" (migration 0009).
    Column("policy", String(16), nullable=True),
    # Never pushed to the Hub by ``hf sync`` (migration 0011).
    Column("local_only", Boolean, nullable=False, server_default=false()),
    # "config" for entries the configuration file names, "api" for the others.
    Column("source", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # When what the entry serves last changed: every change but its status (migration
    # 0010); a conformance check older than this is stale.
    Column("changed_at", DateTime(timezone=True), nullable=True),
)

registry_routes = Table(
    "registry_routes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "model_id",
        String(200),
        ForeignKey("registry_models.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("position", Integer, nullable=False),
    Column("provider", String(200), nullable=False),
    Column("upstream_model", String(200), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("weight", Integer, nullable=False),
    # What the upstream charges, as decimal strings keyed like the prices (migration 0009).
    Column("cost", JSON(none_as_null=True), nullable=True),
    Index("ix_registry_routes_model", "model_id"),
)

registry_audit = Table(
    "registry_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    # "key:<api key id>", "cli" or "config".
    Column("actor", String(64), nullable=False),
    Column("action", String(32), nullable=False),
    Column("model_id", String(200), nullable=False),
    Column("before", JSON(none_as_null=True), nullable=True),
    Column("after", JSON(none_as_null=True), nullable=True),
    Index("ix_registry_audit_model", "model_id", "at"),
)

# The last ``gatewayz hf check`` of each model (migration 0010): whether it passed, and
# every probe's result as JSON ``[{"probe", "client", "result", "reason", "latency_ms"}]``.
model_checks = Table(
    "model_checks",
    metadata,
    Column("model_id", String(200), primary_key=True),
    Column("checked_at", DateTime(timezone=True), nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("probes", JSON, nullable=False),
    # "key:<api key id>" of the admin key that recorded it.
    Column("actor", String(64), nullable=False),
)

# One row (id 1) whose version every registry change increments: instances poll it cheaply.
registry_state = Table(
    "registry_state",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version", BigInteger, nullable=False),
)

# Credits reserved by requests still in flight. A hold is written in the same transaction
# that takes the reservation from the balance and deleted in the one that settles it, so a
# gateway killed in between leaves the hold behind for ``CreditGuard.sweep`` to settle.
credit_holds = Table(
    "credit_holds",
    metadata,
    Column("request_id", String(36), primary_key=True),
    Column("api_key_id", Integer, ForeignKey("api_keys.id"), nullable=False),
    Column("amount_nano_usd", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # The gateway process serving the request (``gateway_instances``); NULL for holds
    # written before migration 0006.
    Column("instance_id", String(36), nullable=True),
    Index("ix_credit_holds_created", "created_at"),
)

# Every running gateway process, with the time it last said it was alive. A hold whose
# instance stopped beating (or is gone) belongs to a request that died with its process.
gateway_instances = Table(
    "gateway_instances",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("heartbeat_at", DateTime(timezone=True), nullable=False),
)

# One row: this deployment's id (migration 0008), shared by every instance on the database.
deployment = Table(
    "deployment",
    metadata,
    Column("id", String(32), primary_key=True),
)

# Dashboard logins (migration 0012). The cookie holds a random token; only its SHA-256 is
# stored. A session ends when it expires, at logout, or when its key is revoked.
dashboard_sessions = Table(
    "dashboard_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("api_key_id", Integer, ForeignKey("api_keys.id"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Index("ix_dashboard_sessions_key", "api_key_id"),
)
