"""Fixtures shared by the adversarial tests: throwaway databases of both backends, and the
billing tests' gateway (``env``: once on SQLite and once on PostgreSQL, in front of the
deterministic fake upstream) for the hostile-input tests and the fuzz."""

from tests.billing.conftest import BACKENDS, backend, env, fake_upstream, fresh_database

__all__ = ["BACKENDS", "backend", "env", "fake_upstream", "fresh_database"]
