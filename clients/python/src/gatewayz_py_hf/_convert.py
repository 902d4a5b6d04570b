"""JSON -> the typed result dataclasses, checked against their type hints.

Unknown fields are ignored (a newer gateway may add some); a missing required field or a
value of the wrong type is an error naming its path, e.g. ``choices[0].message``. A field
whose JSON name differs from its Python name says so in ``field(metadata={"json": ...})``.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

T = TypeVar("T")

JSON_NAME = "json"
# Set by the client from the response headers, never read from the body.
INFERENCE_ID = "inference_id"


class ConversionError(ValueError):
    pass


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def convert(cls: type[T], data: Any, inference_id: str, path: str = "") -> T:
    """A ``cls`` built from ``data``, with ``inference_id`` set on it."""
    value = _value(cls, data, path or cls.__name__, inference_id)
    return typing.cast(T, value)


def _dataclass(cls: type, data: Any, path: str, inference_id: str) -> Any:
    if not isinstance(data, dict):
        raise ConversionError(f"{path}: expected an object, got {type(data).__name__}")
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        if f.name == INFERENCE_ID:
            kwargs[f.name] = inference_id
            continue
        key = f.metadata.get(JSON_NAME, f.name)
        if key in data:
            kwargs[f.name] = _value(hints[f.name], data[key], f"{path}.{key}", inference_id)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConversionError(f"{path}: missing {key!r}")
    return cls(**kwargs)


def _value(tp: Any, data: Any, path: str, inference_id: str) -> Any:
    if tp is Any:
        return data
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return _dataclass(tp, data, path, inference_id)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (types.UnionType, typing.Union):
        if data is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _value(arg, data, path, inference_id)
            except ConversionError as exc:
                errors.append(str(exc))
        raise ConversionError(errors[0] if len(errors) == 1 else f"{path}: unexpected value")
    if origin is typing.Literal:
        return data  # new values from a newer gateway are passed on, not rejected
    if origin is list:
        if not isinstance(data, list):
            raise ConversionError(f"{path}: expected a list, got {type(data).__name__}")
        return [_value(args[0], v, f"{path}[{i}]", inference_id) for i, v in enumerate(data)]
    if origin is dict:
        if not isinstance(data, dict):
            raise ConversionError(f"{path}: expected an object, got {type(data).__name__}")
        return {k: _value(args[1], v, f"{path}.{k}", inference_id) for k, v in data.items()}
    return _scalar(tp, data, path)


def _scalar(tp: Any, data: Any, path: str) -> Any:
    if tp is Decimal:
        # Money and prices arrive as decimal strings or exact JSON numbers (parsed as
        # Decimal, never via float).
        if isinstance(data, Decimal):
            return data
        if isinstance(data, (str, int)) and not isinstance(data, bool):
            try:
                return Decimal(data)
            except InvalidOperation:
                pass
        raise ConversionError(f"{path}: expected a decimal string, got {data!r}")
    if tp is datetime:
        if isinstance(data, str):
            try:
                return datetime.fromisoformat(data)
            except ValueError:
                pass
        raise ConversionError(f"{path}: expected an ISO 8601 time, got {data!r:.80}")
    if tp is float and isinstance(data, (int, float, Decimal)) and not isinstance(data, bool):
        return float(data)
    if tp is int and isinstance(data, bool):
        raise ConversionError(f"{path}: expected an integer, got a boolean")
    if tp in (str, int, bool) and isinstance(data, tp):
        return data
    if tp is type(None) and data is None:
        return None
    raise ConversionError(f"{path}: expected {getattr(tp, '__name__', tp)}, got {data!r:.80}")
