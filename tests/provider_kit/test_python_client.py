"""The generated huggingface_hub helper, registered into the installed library as the
library itself allows for local testing (its ``PROVIDERS`` table, and
``HARDCODED_MODEL_INFERENCE_MAPPING`` in place of the Hub's mappings), then called through
``InferenceClient(provider=NAME, api_key=KEY)`` for every task the kit covers, against
the gateway."""

from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from huggingface_hub import InferenceClient
from huggingface_hub.hf_api import InferenceProviderMapping
from huggingface_hub.inference._providers import PROVIDERS
from huggingface_hub.inference._providers._common import HARDCODED_MODEL_INFERENCE_MAPPING

from gatewayz.provider_kit.task_names import CALLS
from gatewayz.tasks import served_tasks
from tests.provider_kit.conftest import ALL_TASKS_NAME, HOSTILE_ID, NAME, Kit, all_tasks_kit
from tests.servers import PYTHON

MODULE_FILE = NAME.replace("-", "_") + ".py"
MODULE = "huggingface_hub.inference._providers." + NAME.replace("-", "_")


def _edit(kit: Kit, path_end: str, where: str) -> dict[str, Any]:
    edits = kit.manifest["edits"]["huggingface/huggingface_hub"]
    return next(e for e in edits if e["path"].endswith(path_end) and where in e["where"])


@pytest.fixture(scope="module")
def helper_module(kit: Kit) -> Iterator[ModuleType]:
    path = kit.file(
        f"huggingface_hub/src/huggingface_hub/inference/_providers/{NAME.replace('-', '_')}.py"
    )
    spec = importlib.util.spec_from_file_location(MODULE, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE] = module
    spec.loader.exec_module(module)
    # The kit's own PROVIDERS entry, evaluated with the module's classes in scope.
    entry = _edit(kit, "_providers/__init__.py", "in PROVIDERS")["text"]
    PROVIDERS.update(eval("{" + entry + "}", vars(module)))
    HARDCODED_MODEL_INFERENCE_MAPPING[NAME] = {}
    yield module
    PROVIDERS.pop(NAME, None)  # type: ignore[call-overload]
    HARDCODED_MODEL_INFERENCE_MAPPING.pop(NAME, None)
    sys.modules.pop(MODULE, None)


@pytest.fixture(scope="module")
def py_key(kit: Kit) -> str:
    return kit.gateway.create_key("kit-python")


def _map(kit: Kit, task: str) -> str:
    """Point the client's mapping for the task's example model at its gateway id."""
    model = kit.model(task)
    HARDCODED_MODEL_INFERENCE_MAPPING[NAME][model["hub_model_id"]] = InferenceProviderMapping(
        provider=NAME,
        hf_model_id=model["hub_model_id"],
        providerId=model["provider_model_id"],
        task=task,
        status="live",
    )
    return str(model["hub_model_id"])


def _check(task: str, out: Any) -> None:
    """The parsed output has the task's shape, as a user of the client reads it."""
    if task == "conversational":
        assert isinstance(out.choices[0].message.content, str) and out.choices[0].message.content
        assert out.usage.completion_tokens > 0
    elif task == "text-generation":
        assert isinstance(out, str) and out
    elif task == "summarization":
        assert out.summary_text.strip()
    elif task == "translation":
        assert out.translation_text.strip()
    elif task in ("text-classification", "zero-shot-classification"):
        assert out and all(isinstance(x.label, str) and 0 <= x.score <= 1 for x in out)
        if task == "zero-shot-classification":
            assert {x.label for x in out} == {"shopping", "sports"}
    elif task == "token-classification":
        assert {x.entity_group for x in out} >= {"PER"} or {x.word for x in out} >= {"Sarah"}
    elif task == "feature-extraction":
        assert isinstance(out, np.ndarray) and out.shape[-1] == 384
    elif task == "sentence-similarity":
        assert len(out) == 1 and 0 < out[0] <= 1
    else:  # fill-mask, question-answering, text-to-image: served only with an upstream
        assert out


def test_the_kit_covers_every_task_the_registry_serves(kit: Kit) -> None:
    listed = kit.gateway.cli("models", "list", "--json")
    served: set[str] = set()
    for row in json.loads(listed.stdout):
        if not row.get("local_only", False):  # the kit was asked for staging entries too
            served |= served_tasks(row["task_type"], tuple(row["tasks"]))
    assert set(kit.manifest["tasks"]) == served
    assert set(kit.manifest["tasks"]) <= set(CALLS)
    assert kit.model("conversational")["provider_model_id"] == HOSTILE_ID


def test_every_task_through_inference_client(
    kit: Kit, helper_module: ModuleType, py_key: str
) -> None:
    client = InferenceClient(provider=NAME, api_key=py_key)  # type: ignore[arg-type]
    for task in kit.manifest["tasks"]:
        call = CALLS[task]
        model = _map(kit, task)
        out = getattr(client, call.python_method)(model=model, **call.python_kwargs)
        _check(task, out)
    # Each call reached the gateway and was recorded for billing under the gateway's id.
    rows = kit.gateway.rows(
        "SELECT task, model, status FROM usage_records u JOIN api_keys k ON k.id = u.api_key_id "
        "WHERE k.name = 'kit-python'"
    )
    seen = {(r["task"], r["model"]) for r in rows if r["status"] == 200}
    for task in kit.manifest["tasks"]:
        assert (task, kit.model(task)["provider_model_id"]) in seen, (task, seen)


def test_streams_through_inference_client(kit: Kit, helper_module: ModuleType, py_key: str) -> None:
    client = InferenceClient(provider=NAME, api_key=py_key)  # type: ignore[arg-type]
    chat = _map(kit, "conversational")
    chunks = list(
        client.chat_completion(
            model=chat,
            messages=[{"role": "user", "content": "Count to three."}],
            max_tokens=8,
            stream=True,
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    text = _map(kit, "text-generation")
    tokens = list(
        client.text_generation("Once upon a time", model=text, max_new_tokens=6, stream=True)
    )
    assert len(tokens) >= 2 and all(isinstance(t, str) for t in tokens)
    details = client.text_generation("Once upon a time", model=text, max_new_tokens=2, details=True)
    assert details.details is not None and details.details.generated_tokens >= 1


def test_a_wrong_key_is_the_gateways_401(kit: Kit, helper_module: ModuleType) -> None:
    from huggingface_hub.errors import HfHubHTTPError

    client = InferenceClient(provider=NAME, api_key="gwz-not-a-key")  # type: ignore[arg-type]
    model = _map(kit, "feature-extraction")
    with pytest.raises(HfHubHTTPError) as caught:
        client.feature_extraction("Hello", model=model)
    assert caught.value.response is not None and caught.value.response.status_code == 401
    assert caught.value.response.headers.get("inference-id")


def _run_generated_tests(tmp_path: Path, tests: Path, helper: Path, module: str) -> str:
    source = tests.read_text()
    ast.parse(source)
    (tmp_path / "test_generated.py").write_text(source)
    (tmp_path / "conftest.py").write_text(
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location({module!r}, {str(helper)!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        f"sys.modules[{module!r}] = module\n"
        "spec.loader.exec_module(module)\n"
    )
    done = subprocess.run(
        [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_generated_library_tests_pass(kit: Kit, tmp_path: Path) -> None:
    """The static tests written for huggingface_hub's test suite, run against the installed
    library with the helper module in place."""
    helper = kit.file(f"huggingface_hub/src/huggingface_hub/inference/_providers/{MODULE_FILE}")
    tests = kit.file("huggingface_hub/tests/test_inference_providers.py")
    out = _run_generated_tests(tmp_path, tests, helper, MODULE)
    assert f"{2 * len(kit.manifest['tasks'])} passed" in out


def test_the_generated_library_tests_pass_for_every_task(tmp_path: Path) -> None:
    """The same for a kit covering every task, those the embedded default does not serve
    (question-answering, fill-mask, text-to-image) included."""
    manifest = all_tasks_kit(tmp_path / "kit")
    module = ALL_TASKS_NAME.replace("-", "_")
    helper = tmp_path / f"kit/huggingface_hub/src/huggingface_hub/inference/_providers/{module}.py"
    tests = tmp_path / "kit/huggingface_hub/tests/test_inference_providers.py"
    run = tmp_path / "run"
    run.mkdir()
    out = _run_generated_tests(run, tests, helper, f"huggingface_hub.inference._providers.{module}")
    assert manifest["tasks"] == list(CALLS)
    assert f"{2 * len(CALLS)} passed" in out


def test_the_registry_edits_fit_the_installed_library(kit: Kit) -> None:
    """Applied to the installed library's own files, the kit's edits give valid Python
    that lists the provider."""
    import huggingface_hub.inference._providers as providers_pkg

    from gatewayz.provider_kit.edits import Edit

    root = providers_pkg.__file__.rsplit("/", 1)[0]
    by_file: dict[str, list[Edit]] = {}
    for edit in kit.manifest["edits"]["huggingface/huggingface_hub"]:
        if edit["anchor"] is not None:
            by_file.setdefault(edit["path"].rsplit("/", 1)[-1], []).append(Edit(**edit))
    assert set(by_file) == {"__init__.py", "_common.py"}
    for name, edits in by_file.items():
        with open(f"{root}/{name}") as f:
            patched = f.read()
        for edit in edits:
            patched = edit.apply(patched)
        ast.parse(patched)
        assert f'"{NAME}"' in patched
