"""Fixtures shared by the adversarial tests: throwaway databases of both backends."""

from tests.billing.conftest import BACKENDS, fresh_database

__all__ = ["BACKENDS", "fresh_database"]
