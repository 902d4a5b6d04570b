"""``GET /openapi.json``: every route of the app is in it, each request schema is exactly
the pydantic model its route validates with, and it is a valid OpenAPI 3.1 document."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openapi_spec_validator import validate
from pydantic import TypeAdapter
from starlette.routing import Route

from gatewayz.http.api import Api, ByTask
from gatewayz.http.families import FAMILIES, FamilyRoute
from gatewayz.openapi.document import REF
from gatewayz.routes import ROUTES
from tests.openapi.conftest import ApiEnv

METHODS = ("get", "post", "put", "delete")


@pytest.fixture(scope="module")
def doc(api_env: ApiEnv) -> dict[str, Any]:
    return api_env.document()


def operations(route: FamilyRoute) -> list[tuple[str, Api[Any]]]:
    """(document path, declaration) of each operation of ``route``."""
    path = route.path.replace(":path}", "}")
    if isinstance(route.api, ByTask):
        return [
            (path.replace(f"{{{route.api.param}}}", task), api)
            for task, api in route.api.apis.items()
        ]
    assert isinstance(route.api, Api)
    return [(path, route.api)]


API_ROUTES = [r for r in ROUTES if isinstance(r, Route) and r.include_in_schema]


def test_the_document_is_valid_openapi_3_1(doc: dict[str, Any]) -> None:
    assert doc["openapi"] == "3.1.0"
    validate(doc)


def test_every_route_of_the_app_is_in_the_document(doc: dict[str, Any]) -> None:
    assert len(API_ROUTES) > 25
    for route in API_ROUTES:
        assert isinstance(route, FamilyRoute), f"{route.path}: not a FamilyRoute"
        for path, _ in operations(route):
            methods = {m.lower() for m in route.methods or ()} - {"head"}
            assert methods <= set(doc["paths"].get(path, {})), f"{path} {methods} undocumented"
    # ... and nothing else: no operation the app does not serve.
    documented = {(p, m) for p, ops in doc["paths"].items() for m in ops if m in METHODS}
    served = {
        (path, m.lower())
        for route in API_ROUTES
        if isinstance(route, FamilyRoute)
        for path, _ in operations(route)
        for m in route.methods or ()
        if m != "HEAD"
    }
    assert documented == served


def test_html_pages_are_left_out_by_their_flag(doc: dict[str, Any]) -> None:
    pages = [r for r in ROUTES if isinstance(r, Route) and not r.include_in_schema]
    assert {r.path for r in pages} >= {"/docs", "/docs/assets/{name}"}
    for page in pages:
        assert page.path not in doc["paths"]


def test_each_request_schema_is_its_model_s_schema(doc: dict[str, Any]) -> None:
    components = doc["components"]["schemas"]
    checked = 0
    for route in API_ROUTES:
        assert isinstance(route, FamilyRoute)
        for path, api in operations(route):
            for method in route.methods or ():
                if method == "HEAD":
                    continue
                operation = doc["paths"][path][method.lower()]
                if api.body is None:
                    assert "requestBody" not in operation, path
                    continue
                schema = TypeAdapter(api.body).json_schema(ref_template=REF)
                definitions = schema.pop("$defs", {})
                documented = operation["requestBody"]["content"]["application/json"]["schema"]
                assert documented == schema, f"{method} {path}"
                assert set(documented) & {"properties", "anyOf", "oneOf"}, f"{path}: empty"
                for name, definition in definitions.items():
                    assert components[name] == definition, f"{path}: {name}"
                checked += 1
    assert checked > 30


def test_a_task_s_body_names_its_own_inputs(doc: dict[str, Any]) -> None:
    """Spot checks a reader would make: the schemas say what each route takes."""
    chat = doc["paths"]["/v1/chat/completions"]["post"]["requestBody"]["content"]
    assert "messages" in chat["application/json"]["schema"]["required"]
    qa = doc["paths"]["/hf/tasks/question-answering"]["post"]["requestBody"]["content"]
    inputs = qa["application/json"]["schema"]["properties"]["inputs"]
    assert inputs == {"$ref": "#/components/schemas/QuestionAnsweringInputs"}
    assert doc["components"]["schemas"]["QuestionAnsweringInputs"]["required"] == [
        "question",
        "context",
    ]


def test_auth_schemes_and_error_shapes_per_family(doc: dict[str, Any]) -> None:
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearer"] == {**schemes["bearer"], "type": "http", "scheme": "bearer"}
    assert schemes["x-api-key"]["in"] == "header"
    paths = doc["paths"]
    assert paths["/v1/chat/completions"]["post"]["security"] == [{"bearer": []}]
    assert {"x-api-key": []} in paths["/v1/messages"]["post"]["security"]
    assert paths["/health"]["get"]["security"] == []

    def error_schema(path: str, method: str = "post") -> str:
        responses = paths[path][method]["responses"]
        ref: str = responses["4XX"]["content"]["application/json"]["schema"]["$ref"]
        assert responses["5XX"]["content"]["application/json"]["schema"]["$ref"] == ref
        return ref.rsplit("/", 1)[1]

    assert error_schema("/v1/chat/completions") == "OpenAIError"
    assert error_schema("/v1/responses") == "OpenAIError"
    assert error_schema("/v1/messages") == "AnthropicError"
    assert error_schema("/hf/tasks/summarization") == "HFError"
    assert error_schema("/models/{model_id}/v1/chat/completions") == "OpenAIError"
    assert error_schema("/hf/tasks/models", "get") == "HFError"
    for shape in FAMILIES.values():
        assert shape.schema.__name__ in doc["components"]["schemas"]
    # Every answer carries the request id header.
    ok = paths["/v1/embeddings"]["post"]["responses"]["200"]
    assert ok["headers"]["Inference-Id"]["required"] is True


def test_the_document_tells_nothing_of_the_configuration(
    api_env: ApiEnv, fake_upstream: Any
) -> None:
    """It is open to anyone: it holds the API, not the deployment (no upstream address,
    provider name, database path or key)."""
    text = json.dumps(api_env.document())
    for secret in (
        api_env.admin,
        api_env.admin[:12],
        fake_upstream.base_url,
        str(api_env.gw.workdir),
        "gatewayz.db",
        '"fake"',
        "example-chat",
    ):
        assert secret not in text, secret
