"""The tree drawn in ``gatewayz.errors``'s docstring is the code's: every error class is in
it, under its real parent, with its real status."""

from __future__ import annotations

import inspect
import re

from gatewayz import errors
from gatewayz.errors import GatewayError

_LINE = re.compile(r"^(?P<indent>[ │├└─]*)(?P<name>[A-Z]\w+)\s+(?P<status>\d{3}|4xx)\b")


def drawn_tree() -> dict[str, tuple[str | None, str]]:
    """Class name -> (parent drawn above it, status drawn next to it)."""
    doc = errors.__doc__ or ""
    drawn: dict[str, tuple[str | None, str]] = {}
    parents: list[str] = []
    for line in doc.splitlines():
        match = _LINE.match(line.removeprefix("    "))
        if match is None:
            continue
        depth = len(match["indent"]) // 4
        del parents[depth:]
        drawn[match["name"]] = (parents[-1] if parents else None, match["status"])
        parents.append(match["name"])
    return drawn


def test_every_error_class_is_drawn_under_its_parent_with_its_status() -> None:
    classes = {
        name: cls
        for name, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, GatewayError)
    }
    drawn = drawn_tree()
    assert set(drawn) == set(classes)
    for name, cls in classes.items():
        parent, status = drawn[name]
        assert parent == (None if cls is GatewayError else cls.__bases__[0].__name__), name
        assert status == ("4xx" if cls is errors.UpstreamRejected else str(cls.status)), name


def test_no_error_class_is_defined_outside_errors() -> None:
    """One hierarchy: every ``GatewayError`` subclass the gateway defines lives in it."""
    import gatewayz.app  # noqa: F401  (imports every route, service and adapter)

    def subclasses(cls: type) -> list[type]:
        return [c for sub in cls.__subclasses__() for c in (sub, *subclasses(sub))]

    outside = [
        f"{c.__module__}.{c.__name__}"
        for c in subclasses(GatewayError)
        if c.__module__.startswith("gatewayz") and c.__module__ != "gatewayz.errors"
    ]
    assert outside == []
