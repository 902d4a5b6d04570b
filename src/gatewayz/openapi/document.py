"""The OpenAPI 3.1 document of the gateway (``GET /openapi.json``), built from the routes.

Nothing in it is written by hand: each operation comes from its route's declaration
(``http.api.Api``: the body model the route validates with, the answer type, the query,
the authentication) and its family (``http.families``: the error body). Schemas are the
pydantic models' own JSON schemas; their shared definitions go to
``components/schemas``, and two different schemas under one name are refused, so a
reference always means what its model says.

A route declaring one ``Api`` per task (``ByTask``) becomes one path per task. Routes with
``include_in_schema=False`` (HTML pages, their assets) are left out.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Iterator
from typing import Any

import orjson
from pydantic import BaseModel, TypeAdapter
from starlette.routing import BaseRoute, Route

from gatewayz.http.api import Api, ByTask
from gatewayz.http.families import FAMILIES, FamilyRoute

JSONDict = dict[str, Any]
REF = "#/components/schemas/{model}"
JSON = "application/json"
SSE = "text/event-stream"

SECURITY_SCHEMES: JSONDict = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "A Gatewayz API key (`gatewayz keys create`), as "
        "`Authorization: Bearer <key>`.",
    },
    "x-api-key": {
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
        "description": "The same key in Anthropic's header (the Messages API only).",
    },
}
SECURITY: dict[str, list[JSONDict]] = {
    "bearer": [{"bearer": []}],
    "bearer-or-x-api-key": [{"x-api-key": []}, {"bearer": []}],
    "none": [],
    "optional-bearer": [{}, {"bearer": []}],
}
# Every answer carries the request id; error bodies repeat it.
REQUEST_ID_HEADER: JSONDict = {
    "Inference-Id": {
        "description": "The request id (a UUID), also in every error body and usage record.",
        "required": True,
        "schema": {"type": "string", "format": "uuid"},
    }
}
# Path parameters: a model id is ``name`` or ``org/name`` (a longer path would reach
# another route); a task is one segment.
PATH_PARAMETERS: dict[str, JSONDict] = {
    "model_id": {
        "type": "string",
        "pattern": "^[^/]+(/[^/]+)?$",
        "description": "a gateway model id, or a Hugging Face id `org/name`; "
        "`:fastest`, `:cheapest` or `:<provider>` may follow",
    },
}
# One server-sent event (OpenAPI 3.1 describes a stream's events one by one): with
# ``"stream": true``, each ``data`` is one JSON chunk of the API's stream format, and
# OpenAI's streams end with ``data: [DONE]``.
SSE_EVENT: JSONDict = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "event": {"type": "string"},
        "data": {"type": "string", "description": "a JSON chunk, or [DONE]"},
    },
}
_PARAM = re.compile(r"{(\w+)(:\w+)?}")


class Schemas:
    """The document's ``components/schemas``, filled as operations name types."""

    def __init__(self) -> None:
        self.components: dict[str, JSONDict] = {}

    def of(self, type_: Any, mode: str = "validation") -> JSONDict:
        """The JSON schema of ``type_`` (its ``$defs`` moved into the components)."""
        schema = TypeAdapter(type_).json_schema(ref_template=REF, mode=mode)  # type: ignore[arg-type]
        for name, definition in schema.pop("$defs", {}).items():
            self.add(name, definition)
        return schema

    def ref(self, model: type[BaseModel], mode: str = "serialization") -> JSONDict:
        """A reference to ``model``'s schema in the components."""
        self.add(model.__name__, self.of(model, mode))
        return {"$ref": REF.format(model=model.__name__)}

    def add(self, name: str, schema: JSONDict) -> None:
        known = self.components.setdefault(name, schema)
        if known != schema:
            raise ValueError(f"two different schemas are named {name!r}; rename one model")


def document(routes: Iterable[BaseRoute], version: str) -> JSONDict:
    """The OpenAPI 3.1 document of ``routes``."""
    schemas = Schemas()
    paths: dict[str, JSONDict] = {}
    tags: dict[str, None] = {}
    for route in routes:
        if not isinstance(route, Route) or not route.include_in_schema:
            continue
        if not isinstance(route, FamilyRoute) or route.api is None:
            raise ValueError(f"route {route.path!r} is in the API but declares no api")
        for path, api in _operations(route):
            tags[api.tag] = None
            for method in sorted((route.methods or set()) - {"HEAD"}):
                operation = _operation(route, path, method, api, schemas)
                paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Gatewayz",
            "version": version,
            "description": "An AI inference gateway: Hugging Face's task formats, OpenAI's "
            "and Anthropic's APIs, metered in integer nano-USD. Errors have the shape of "
            "their route's family and always carry the request id.",
        },
        "tags": [{"name": tag} for tag in tags],
        "paths": paths,
        "components": {"schemas": schemas.components, "securitySchemes": SECURITY_SCHEMES},
    }


class ApiDocument:
    """The document of an app's routes, as JSON, built on first use and then kept: the
    routes of an app never change after it is built. Building it is about a second of
    schema generation: start-up does not wait for it, and it runs on a thread, once, so
    that no request waits behind it on the event loop. One per app, on
    ``app.state.api_document``."""

    def __init__(self, routes: Iterable[BaseRoute], version: str) -> None:
        self._routes = list(routes)
        self._version = version
        self._json: bytes | None = None
        self._building = asyncio.Lock()

    def _build(self) -> bytes:
        return orjson.dumps(document(self._routes, self._version))

    async def json(self) -> bytes:
        if self._json is None:
            async with self._building:
                if self._json is None:
                    self._json = await asyncio.to_thread(self._build)
        return self._json


def _operations(route: FamilyRoute) -> Iterator[tuple[str, Api[Any]]]:
    """(OpenAPI path, declaration) of each operation ``route`` serves."""
    path = _PARAM.sub(r"{\1}", route.path)
    if isinstance(route.api, ByTask):
        for task, api in route.api.apis.items():
            yield path.replace(f"{{{route.api.param}}}", task), api
    elif route.api is not None:
        yield path, route.api


def _operation(
    route: FamilyRoute, path: str, method: str, api: Api[Any], schemas: Schemas
) -> JSONDict:
    operation: JSONDict = {
        "operationId": _operation_id(method, path),
        "summary": api.summary,
        "tags": [api.tag],
        "security": SECURITY[api.auth],
    }
    if api.description:
        operation["description"] = api.description
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": _path_schema(name)}
        for name in _PARAM.findall(path)
        for name in (name[0],)
    ]
    if api.query is not None:
        parameters.extend(_query_parameters(api.query, schemas))
    if parameters:
        operation["parameters"] = parameters
    if api.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {JSON: {"schema": schemas.of(api.body)}},
        }
    operation["responses"] = _responses(route, api, schemas)
    return operation


def _operation_id(method: str, path: str) -> str:
    words = re.sub(r"[^A-Za-z0-9]+", "_", path.replace("{", "by_")).strip("_")
    return f"{method.lower()}_{words}"


def _path_schema(name: str) -> JSONDict:
    return PATH_PARAMETERS.get(name, {"type": "string", "minLength": 1})


def _query_parameters(model: type[BaseModel], schemas: Schemas) -> list[JSONDict]:
    """One optional parameter per field; ``null`` is left out (a query value is text)."""
    properties = schemas.of(model).get("properties", {})
    out = []
    for name, schema in properties.items():
        schema = dict(schema)
        members = [s for s in schema.pop("anyOf", []) if s != {"type": "null"}]
        if members:
            schema.update(members[0] if len(members) == 1 else {"anyOf": members})
        schema.pop("default", None)
        description = schema.pop("description", None)
        parameter: JSONDict = {"name": name, "in": "query", "required": False, "schema": schema}
        if description:
            parameter["description"] = description
        out.append(parameter)
    return out


def _responses(route: FamilyRoute, api: Api[Any], schemas: Schemas) -> JSONDict:
    content: JSONDict = {}
    if api.answer is not None:
        content[JSON] = {"schema": schemas.of(api.answer, "serialization")}
    if api.media is not None:
        content[api.media] = {"schema": {"type": "string", "contentMediaType": api.media}}
    if api.stream:
        content[SSE] = {"schema": SSE_EVENT}
    success: JSONDict = {"description": "success", "headers": REQUEST_ID_HEADER}
    if content:
        success["content"] = content
    responses: JSONDict = {"200": success}
    if api.created:
        responses["201"] = {**success, "description": "created"}
    shape = FAMILIES[route.family].schema
    family_error = {
        "headers": REQUEST_ID_HEADER,
        "content": {JSON: {"schema": schemas.ref(shape)}},
    }
    responses["4XX"] = {"description": f"an error, in the {route.family} shape", **family_error}
    responses["5XX"] = {"description": "the gateway or its upstream failed", **family_error}
    return responses
