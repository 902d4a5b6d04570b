"""Turning a pydantic validation failure into the gateway's error, naming the field."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from gatewayz.errors import InvalidRequest

M = TypeVar("M", bound=BaseModel)


# Pydantic names the member of a union that failed ("str", "constrained-str",
# "list[str]", "function-after[...]"); a caller wants the field, not the type.
_TYPE_TAGS = frozenset({"str", "int", "float", "bool", "dict", "list", "none", "bytes"})


def _is_type_tag(part: str) -> bool:
    return part in _TYPE_TAGS or any(c in part for c in "[]-")


def field_path(loc: tuple[int | str, ...]) -> str:
    """``("messages", 0, "role")`` -> ``messages[0].role``, without union member tags."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not _is_type_tag(part):
            out += f".{part}" if out else part
    return out


def validate(
    schema: type[M],
    data: dict[str, Any],
    error: type[InvalidRequest] = InvalidRequest,
    deepest: bool = False,
) -> M:
    """``data`` as ``schema``, or ``error`` naming the first field that failed. With
    ``deepest``, the failure nested deepest is named instead: for a field that is text or
    a list of typed blocks, a bad block is named rather than "should be a valid string"."""
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        first = max(errors, key=lambda e: len(e["loc"])) if deepest else errors[0]
        where = field_path(first["loc"]) or "body"
        raise error(f"{where}: {first['msg']}") from None
