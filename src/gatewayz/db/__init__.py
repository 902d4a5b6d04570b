"""Storage: table definitions, the engine, and the Alembic migrations that build them."""
