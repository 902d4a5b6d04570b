"""docs/API_FAMILIES.md is run: every request in it is sent to a real gateway in front of
the test tool upstream (tests/families), and every answer must have the shape the
document shows (streams: the event names, in order). Its error-type table is checked
against the gateway's mapping."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from tests.docs.test_tasks_doc import same_shape
from tests.families.conftest import families, key  # noqa: F401 (fixtures)
from tests.servers import ROOT, Gateway, ToolUpstream

DOC = (ROOT / "docs" / "API_FAMILIES.md").read_text()
EXAMPLE = re.compile(
    r"```http request\nPOST (\S+)\n(.*?)```\s*```(json|sse) response\n(.*?)```", re.S
)
EXAMPLES = EXAMPLE.findall(DOC)


def test_the_document_has_its_examples() -> None:
    paths = [path for path, *_ in EXAMPLES]
    assert paths.count("/v1/responses") == 5 and paths.count("/v1/messages") == 4
    assert "/v1/messages/count_tokens" in paths


@pytest.mark.parametrize(("path", "body", "kind", "answer"), EXAMPLES)
def test_example(
    families: Gateway,  # noqa: F811
    key: str,  # noqa: F811
    path: str,
    body: str,
    kind: str,
    answer: str,
) -> None:
    headers = {"x-api-key": key} if path.startswith("/v1/messages") else {}
    headers.setdefault("Authorization", f"Bearer {key}")
    if kind == "json":
        r = httpx.post(f"{families.url}{path}", json=json.loads(body), headers=headers, timeout=30)
        assert r.status_code == 200, r.text
        assert r.headers["inference-id"]
        same_shape(r.json(), json.loads(answer))
        return
    with httpx.stream(
        "POST", f"{families.url}{path}", json=json.loads(body), headers=headers, timeout=30
    ) as r:
        assert r.status_code == 200
        names = [line[7:] for line in r.iter_lines() if line.startswith("event: ")]
    assert names == [line[7:] for line in answer.splitlines()]


def test_the_error_table_matches_the_gateway() -> None:
    from gatewayz import errors
    from gatewayz.http.families import ANTHROPIC, ErrorInfo

    table = dict(re.findall(r"^\| (\d{3})[^|]*\| `(\w+)` \|$", DOC, re.M))
    cases: dict[str, Any] = {
        "400": errors.InvalidRequest,
        "401": errors.AuthenticationFailed,
        "402": errors.InsufficientCredits,
        "403": errors.PermissionDenied,
        "404": errors.ModelNotFound,
        "413": errors.PayloadTooLarge,
        "429": errors.RateLimited,
        "504": errors.UpstreamTimeout,
        "5xx": errors.UpstreamBadResponse,
    }
    assert set(table) == set(cases) - {"5xx"}
    for status, cls in cases.items():
        payload: Any = ANTHROPIC.body(ErrorInfo("rid", "m", cls.type, cls.code))
        expected = table.get(status, "api_error")
        assert payload["error"]["type"] == expected, status


CITY = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
FORMS = re.findall(r"^\| `(\{.*?\})` \| `(\{.*?\})` \| `(\{.*?\})` \|$", DOC, re.M)


def with_schema(cell: str) -> Any:
    """A table cell as JSON, the schema ``S`` filled in."""
    return json.loads(re.sub(r"\bS\b", json.dumps(CITY), cell))


def test_the_forms_table_has_every_dialect() -> None:
    sent = [with_schema(row[0])["type"] for row in FORMS]
    assert len(FORMS) == 7 and {"json", "json_object", "json_schema", "text"} <= set(sent)


@pytest.mark.parametrize(("sent", "openai_gets", "tgi_gets"), FORMS)
def test_each_form_reaches_each_upstream_as_the_table_says(
    families: Gateway,  # noqa: F811
    key: str,  # noqa: F811
    tool_upstream: ToolUpstream,
    sent: str,
    openai_gets: str,
    tgi_gets: str,
) -> None:
    for model, wanted in (("tooly", openai_gets), ("tooly-hf", tgi_gets)):
        body = {
            "model": model,
            "messages": [{"role": "user", "content": "A big city?"}],
            "response_format": with_schema(sent),
        }
        r = httpx.post(
            f"{families.url}/v1/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        assert tool_upstream.last()["response_format"] == with_schema(wanted), model
