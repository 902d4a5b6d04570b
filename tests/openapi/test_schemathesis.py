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
from collections import Counter
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
from tests.openapi.conftest import CHAT_MODEL, DEFAULT_MODELS, ApiEnv
from tests.security.test_fuzz import check as fuzz_check

EXAMPLES = int(os.environ.get("GATEWAYZ_SCHEMATHESIS_EXAMPLES", "20"))
# Statuses seen per operation (``test_the_generated_requests_reach_the_models``).
STATUSES: dict[str, Counter[int]] = {}
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


def served_model(path: str) -> str | None:
    """A model the gateway serves for the inference path ``path`` under ``/models/{id}``
    (the registry's PUT and DELETE keep random ids: they would change the models)."""
    if not path.startswith("/models/{model_id}"):
        return None
    rest = path.removeprefix("/models/{model_id}")
    if rest.startswith("/v1/"):
        return CHAT_MODEL
    if rest.startswith("/pipeline/"):
        return DEFAULT_MODELS.get(rest.removeprefix("/pipeline/"))
    # The model's own task: text-classification takes any text as inputs.
    return DEFAULT_MODELS["text-classification"] if not rest else None


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
    strategies = [
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    ]
    model_id = served_model(path)
    if model_id is not None:  # a random id is a 404: also send the id of a served model
        fixed = {"model_id": model_id}
        strategies.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=fixed))
    cases = st.one_of(strategies)
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
        STATUSES.setdefault(f"{method} {path}", Counter())[response.status_code] += 1

    run()


def test_the_generated_requests_reach_the_models() -> None:
    """Not only errors: valid generated requests are served (the models named by default),
    so the answers checked include real ones."""
    assert len(STATUSES) == len(OPERATIONS), "run with the operations' tests"
    served = sorted(op for op, counts in STATUSES.items() if any(s < 300 for s in counts))
    print("\n".join(f"{op}: {dict(sorted(c.items()))}" for op, c in sorted(STATUSES.items())))
    assert len(served) >= len(OPERATIONS) * 2 // 3, f"{len(served)} of {len(OPERATIONS)}"
