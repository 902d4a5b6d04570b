"""Check the models a gateway serves (or would, once live) and record the results.

The models come from the gateway itself (``GET /hf/tasks/models``: every entry for an
admin key, live ones for any other), so the check sees what the running instance serves,
the configuration file's entries included. Each model is probed through its task's
``InferenceClient`` method; an admin key then records the result
(``POST /hf/tasks/models/{id}/checks``), which ``set-status`` and ``hf sync`` read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from gatewayz.errors import InvalidRequest
from gatewayz.hf_check.headers import InferenceIds
from gatewayz.hf_check.js_client import JsClient, find_js_client, run_js_probes
from gatewayz.hf_check.outcome import Outcome
from gatewayz.hf_check.registry import TASK_PROBES
from gatewayz.hf_check.target import Target

API_TIMEOUT_S = 30.0


@dataclass(slots=True)
class ModelReport:
    model: str
    task: str
    outcomes: list[Outcome]
    recorded: str | None = None  # why the result was not recorded, None when it was
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(o.result != "fail" for o in self.outcomes) and any(
            o.result == "pass" for o in self.outcomes
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "task": self.task,
            "passed": self.passed,
            "recorded": self.recorded is None,
            **({} if self.recorded is None else {"not_recorded": self.recorded}),
            "probes": [o.as_json() for o in self.outcomes],
        }


def _headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _error(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return f"HTTP {resp.status_code}"
    err = body.get("error") if isinstance(body, dict) else None
    text = err.get("message") if isinstance(err, dict) else err
    return f"HTTP {resp.status_code}: {text}"


def models_to_check(
    http: httpx.Client, url: str, key: str, wanted: Sequence[str]
) -> list[dict[str, Any]]:
    """The registry entries to check: all the key may see, or those ``wanted`` names."""
    resp = http.get(f"{url}/hf/tasks/models", headers=_headers(key))
    if resp.status_code != 200:
        raise InvalidRequest(f"cannot list the gateway's models: {_error(resp)}")
    models: list[dict[str, Any]] = resp.json()["models"]
    if not wanted:
        return models
    by_id = {m["provider_model_id"]: m for m in models}
    unknown = [w for w in wanted if w not in by_id]
    if unknown:
        raise InvalidRequest(
            f"not in the gateway's registry (or not visible to this key): {', '.join(unknown)}"
        )
    return [by_id[w] for w in wanted]


def check_model(
    url: str, key: str, entry: dict[str, Any], ids: InferenceIds, js: JsClient
) -> ModelReport:
    model, task = entry["provider_model_id"], entry["task_type"]
    probe = TASK_PROBES.get(task)
    if probe is None:
        outcome = Outcome("call", "python", "fail", f"hf check has no probe for task {task!r}")
        return ModelReport(model, task, [outcome])
    outcomes = probe.run(Target(url, key, model, ids))
    outcomes += run_js_probes(js, url, key, model, task)
    return ModelReport(model, task, outcomes)


def record(
    http: httpx.Client, url: str, key: str, entry: dict[str, Any], report: ModelReport
) -> None:
    """Store ``report`` in the registry; on refusal, say why in ``report.recorded``."""
    if "changed_at" not in entry:  # only admins are shown it, and only they may record
        report.recorded = "an admin key records results; this key is not one"
        return
    body = {"probes": [o.as_json() for o in report.outcomes], "changed_at": entry["changed_at"]}
    resp = http.post(
        f"{url}/hf/tasks/models/{quote(report.model, safe='/')}/checks",
        json=body,
        headers=_headers(key),
    )
    if resp.status_code != 201:
        report.recorded = _error(resp)


def run_check(
    url: str,
    key: str,
    wanted: Sequence[str],
    *,
    save: bool = True,
    js_client: str | None = None,
    progress: Callable[[str], None] = lambda _line: None,
) -> list[ModelReport]:
    url = url.rstrip("/")
    ids = InferenceIds()
    js = find_js_client(js_client)
    if js.skip_reason is not None:
        progress(f"the @huggingface/inference probes are skipped: {js.skip_reason}")
    reports = []
    with httpx.Client(timeout=API_TIMEOUT_S) as http:
        for entry in models_to_check(http, url, key, wanted):
            progress(f"checking {entry['provider_model_id']} ({entry['task_type']})")
            report = check_model(url, key, entry, ids, js)
            if save:
                record(http, url, key, entry, report)
            else:
                report.recorded = "--no-record"
            reports.append(report)
    return reports
