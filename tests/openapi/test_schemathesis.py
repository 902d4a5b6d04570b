"""schemathesis against a live gateway, driven by its own ``/openapi.json``: for every
operation, requests generated from the document (valid ones, and ones that break it),
with an admin key. No answer may be a 5xx, and every answer must be what the document
says: a documented status, content type, headers (the request id) and body schema. The
hardening fuzz's own check (tests/security/test_fuzz.py: below 500, the request id in
the header and in the error body of the route's family) runs on every answer too.

Derandomized, so a run is reproducible; ``GATEWAYZ_SCHEMATHESIS_EXAMPLES`` sets the number
of generated requests per operation (explicit examples and coverage cases come on top).
"""

from __future__ import annotations

import os
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from gatewayz import __version__
from gatewayz.openapi.document import document
from gatewayz.routes import ROUTES
from tests.openapi.conftest import ApiEnv
from tests.security.test_fuzz import check as fuzz_check

EXAMPLES = int(os.environ.get("GATEWAYZ_SCHEMATHESIS_EXAMPLES", "25"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


# The operations, from the document the app builds (the live one is checked to be it).
DOCUMENT = document(ROUTES, __version__)
OPERATIONS = [(path, method) for path, ops in DOCUMENT["paths"].items() for method in ops]


@pytest.fixture(scope="session")
def api_schema(api_env: ApiEnv) -> Any:
    return schemathesis.openapi.from_url(api_env.url + "/openapi.json")


def test_the_live_document_is_the_app_s(api_env: ApiEnv) -> None:
    assert api_env.document() == DOCUMENT


def as_httpx(response: Any) -> httpx.Response:
    return httpx.Response(
        response.status_code,
        headers=[(k, v) for k, values in response.headers.items() for v in values],
        content=response.content,
        request=httpx.Request(response.request.method, response.request.url),
    )


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_operation(api_schema: Any, api_env: ApiEnv, path: str, method: str) -> None:
    operation = api_schema[path][method.upper()]
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )
    headers = {"Authorization": f"Bearer {api_env.admin}"}

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def run(case: Any) -> None:
        response = case.call_and_validate(base_url=api_env.url, headers=headers, checks=CHECKS)
        fuzz_check(as_httpx(response), f"{case.method} {case.formatted_path} {case.body!r:.300}")

    run()
