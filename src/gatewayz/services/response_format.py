"""``response_format`` in every dialect a caller may send, read into one form.

Callers send a JSON schema three ways (docs/API_FAMILIES.md lists them):

- OpenAI's ``{"type": "json_schema", "json_schema": {"name", "schema", "strict"}}``;
- TGI's ``{"type": "json_object" | "json", "value": schema}``, which ``huggingface_hub``'s
  ``InferenceClient.chat_completion`` documents, and TGI's ``json_schema`` whose ``value``
  is ``{"name", "schema"}``;
- llama.cpp's ``{"type": "json_object", "schema": schema}``.

``canonical_response_format`` turns each into OpenAI's form (the schema named ``schema``
when the caller named none), which is what OpenAI-kind upstreams receive; the HF-kind
adapter sends it on in TGI's form (``upstreams/hf.tgi_response_format``) and the embedded
llama turns it into a grammar (``local/llama._schema_grammar``). ``text``, a bare
``json_object`` and TGI's ``regex`` are kept as they are. A schema that is not an object
is the caller's error, answered 400 before any upstream is asked.
"""

from __future__ import annotations

from typing import Any

from gatewayz.errors import InvalidRequest
from gatewayz.upstreams.base import JSONDict

FIELD = "response_format"
# The name OpenAI requires for a schema, when the caller's dialect has none.
DEFAULT_NAME = "schema"
MAX_NAME_CHARS = 64
_TYPES = ("text", "json_object", "json", "json_schema", "regex")


def canonical_response_format(fmt: object, where: str = FIELD) -> JSONDict:
    """``fmt`` (any accepted dialect) in OpenAI's form; ``InvalidRequest`` naming the
    field at ``where`` when it is not one of them."""
    if not isinstance(fmt, dict):
        raise InvalidRequest(f"{where}: should be an object with a 'type'")
    kind = fmt.get("type")
    if kind not in _TYPES:
        shown = ", ".join(repr(t) for t in _TYPES)
        raise InvalidRequest(f"{where}.type: should be one of {shown}")
    if kind == "text":
        return {"type": "text"}
    if kind == "regex":  # TGI's own: only an HF-kind upstream can follow it
        if not isinstance(fmt.get("value"), str):
            raise InvalidRequest(f"{where}.value: a regex format needs the pattern as a string")
        return {"type": "regex", "value": fmt["value"]}
    if kind == "json_schema":
        return _json_schema(fmt, where)
    for key in ("value", "schema"):  # TGI's and llama.cpp's schema
        if key in fmt:
            return _named(DEFAULT_NAME, _schema(fmt[key], f"{where}.{key}"), None, None)
    return {"type": "json_object"}


def _json_schema(fmt: dict[str, Any], where: str) -> JSONDict:
    if "value" in fmt:  # TGI's json_schema: {"name", "schema"}, or the schema itself
        value = fmt["value"]
        if isinstance(value, dict) and isinstance(value.get("schema"), dict):
            spec, at = value, f"{where}.value"
        else:
            return _named(DEFAULT_NAME, _schema(value, f"{where}.value"), None, None)
    elif "json_schema" in fmt:
        spec, at = fmt["json_schema"], f"{where}.json_schema"
        if not isinstance(spec, dict):
            raise InvalidRequest(f"{at}: should be an object with the schema in 'schema'")
    elif "schema" in fmt:  # beside the type, as Together and the Responses API have it
        spec, at = fmt, where
    else:
        raise InvalidRequest(f"{where}: a json_schema format needs its schema")
    name = spec.get("name", DEFAULT_NAME)
    if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME_CHARS:
        raise InvalidRequest(f"{at}.name: should be text of 1 to {MAX_NAME_CHARS} characters")
    strict, description = spec.get("strict"), spec.get("description")
    if strict is not None and not isinstance(strict, bool):
        raise InvalidRequest(f"{at}.strict: should be true or false")
    if description is not None and not isinstance(description, str):
        raise InvalidRequest(f"{at}.description: should be text")
    if "schema" not in spec:
        raise InvalidRequest(f"{at}.schema: a json_schema format needs its schema")
    return _named(name, _schema(spec["schema"], f"{at}.schema"), strict, description)


def _schema(schema: object, where: str) -> JSONDict:
    if not isinstance(schema, dict):
        raise InvalidRequest(f"{where}: the JSON schema should be an object")
    return schema


def _named(name: str, schema: JSONDict, strict: bool | None, description: str | None) -> JSONDict:
    spec: JSONDict = {"name": name, "schema": schema}
    if strict is not None:
        spec["strict"] = strict
    if description is not None:
        spec["description"] = description
    return {"type": "json_schema", "json_schema": spec}


def with_canonical_format(body: JSONDict) -> JSONDict:
    """A chat body with its ``response_format`` (if any) in OpenAI's form."""
    fmt = body.get(FIELD)
    if fmt is None:
        return body
    return {**body, FIELD: canonical_response_format(fmt)}
