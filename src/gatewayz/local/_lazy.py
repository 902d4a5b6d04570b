"""Load-once holders for embedded models (the first caller loads, later callers reuse), and
the 501 that names the install fix when a package an embedded model needs is missing."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from gatewayz.errors import NotServedLocally
from gatewayz.heap import settle_heap

T = TypeVar("T")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


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
                settle_heap()  # the model's objects live as long as the process
            return self._value


def package_dir(module: str, pip_name: str) -> Path:
    """The directory of an installed package that carries model files, found without
    importing it (importing some of them pulls in heavy frameworks)."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise missing_package("this embedded model", pip_name)
    return Path(spec.origin).parent


def missing_package(what: str, pip_name: str) -> NotServedLocally:
    """The 501 for ``what`` when the package ``pip_name`` is not installed. It names the
    fixes that work: the requirement exactly as the ``local`` extra pins it, or the whole
    extra (gatewayz is installed from its source, so ``gatewayz[local]`` would not resolve)."""
    return NotServedLocally(
        f"{what} needs the package {pip_name!r}, which is not installed: "
        f"pip install '{local_requirement(pip_name)}', or install gatewayz with its 'local' "
        "extra (pip install '.[local]' in the gatewayz source directory)"
    )


def local_requirement(pip_name: str) -> str:
    """``pip_name`` as the installed gatewayz's ``local`` extra requires it (with its
    version bounds), or the bare name when the metadata does not say."""
    try:
        requirements = importlib.metadata.requires("gatewayz") or []
    except importlib.metadata.PackageNotFoundError:
        return pip_name
    wanted = _normalized(pip_name)
    for requirement in requirements:
        spec, _, marker = requirement.partition(";")
        name = _NAME.match(spec.strip())
        if name and _normalized(name.group()) == wanted and "local" in marker:
            return spec.strip().replace(" ", "")
    return pip_name


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
