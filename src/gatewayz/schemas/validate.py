"""Turning a pydantic validation failure into the gateway's error, naming the field."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from gatewayz.errors import InvalidRequest

M = TypeVar("M", bound=BaseModel)


def field_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def validate(
    schema: type[M], data: dict[str, Any], error: type[InvalidRequest] = InvalidRequest
) -> M:
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = field_path(first["loc"]) or "body"
        raise error(f"{where}: {first['msg']}") from None
