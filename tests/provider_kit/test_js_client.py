"""The generated huggingface.js files against the installed ``@huggingface/inference``
(clients/js/node_modules, installed with ``npm ci`` if missing):

- the library's own sources (the package ships them) with the kit's registry edits
  applied, its provider file and its test file added, type-check with ``tsc`` under the
  library's own compiler options;
- the compiled provider file, registered at run time into the library's built modules
  (imported by path under ``dist/``), answers every task through ``InferenceClient``
  against the gateway (tests/provider_kit/js_harness.mjs).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gatewayz.provider_kit.edits import Edit
from gatewayz.provider_kit.task_names import CALLS, TASK_NAMES
from tests.provider_kit.conftest import ALL_TASKS_NAME, NAME, Kit, all_tasks_kit
from tests.servers import ROOT

JS = ROOT / "clients" / "js"
LIBRARY = JS / "node_modules" / "@huggingface" / "inference"
HARNESS = Path(__file__).with_name("js_harness.mjs")
PREFIX = "".join(part.capitalize() for part in NAME.split("-"))
# The compiler options of huggingface.js's packages/inference/tsconfig.json.
TSCONFIG = {
    "compilerOptions": {
        "esModuleInterop": True,
        "module": "NodeNext",
        "target": "ESNext",
        "moduleResolution": "nodenext",
        "noImplicitAny": True,
        "strict": True,
        "strictNullChecks": True,
        "skipLibCheck": True,
        "noImplicitOverride": True,
        "outDir": "./out",
        "resolveJsonModule": True,
    },
    "include": ["src", "test"],
}
ENV_TYPES = "interface ImportMeta {\n\treadonly env: Record<string, string | undefined>;\n}\n"


@dataclass
class Built:
    root: Path
    out: Path


def _npm_ci() -> None:
    if not (LIBRARY / "dist").is_dir():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=JS,
            check=True,
            capture_output=True,
            timeout=600,
        )


@pytest.fixture(scope="module")
def built(kit: Kit, tmp_path_factory: pytest.TempPathFactory) -> Built:
    """A copy of the library's sources with the kit's pull request applied, compiled."""
    _npm_ci()
    root = tmp_path_factory.mktemp("huggingface-js") / "packages" / "inference"
    shutil.copytree(LIBRARY / "src", root / "src")
    # Two pull requests in one tree: the gateway's kit, and one covering every task.
    all_out = tmp_path_factory.mktemp("all-tasks-kit") / "kit"
    kits = [(kit.manifest, kit.out, NAME), (all_tasks_kit(all_out), all_out, ALL_TASKS_NAME)]
    for manifest, out, name in kits:
        for edit in manifest["edits"]["huggingface/huggingface.js"]:
            if edit["anchor"] is None:
                continue  # README lines
            target = root / edit["path"].removeprefix("packages/inference/")
            target.write_text(Edit(**edit).apply(target.read_text()))
        for rel in (f"src/providers/{name}.ts", f"test/{name}.spec.ts"):
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(out / f"huggingface.js/packages/inference/{rel}", root / rel)
    (root / "test" / "env.d.ts").write_text(ENV_TYPES)
    (root / "tsconfig.json").write_text(json.dumps(TSCONFIG))
    (root / "package.json").write_text('{"type": "module"}')
    (root / "node_modules").symlink_to(JS / "node_modules")
    # The sources are written for the monorepo: one of them imports ../../../tasks/dist.
    (root.parent / "tasks").symlink_to(JS / "node_modules" / "@huggingface" / "tasks")
    done = subprocess.run(
        [str(JS / "node_modules" / ".bin" / "tsc"), "-p", "tsconfig.json"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return Built(root, root / "out")


def test_the_pull_request_type_checks_against_the_installed_library(built: Built) -> None:
    # tsc passed in the fixture; the compiled files are the kit's.
    assert (built.out / "src" / "providers" / f"{NAME}.js").is_file()
    assert (built.out / "test" / f"{NAME}.spec.js").is_file()
    types = (built.root / "src" / "types.ts").read_text()
    assert f'\t"{NAME}",\n' in types
    # Every task's class, those the embedded default does not serve included.
    every = (built.root / "src" / "providers" / f"{ALL_TASKS_NAME}.ts").read_text()
    for task in CALLS:
        assert f"class GwzAll{TASK_NAMES[task].class_name}Task " in every


def _runtime_provider(built: Built, tmp: Path) -> Path:
    """The compiled provider file in a copy of ``dist/esm`` made of links to the library's
    own modules, so that its imports are the very modules InferenceClient uses."""
    dist = tmp / "dist" / "esm"
    providers = dist / "providers"
    providers.mkdir(parents=True)
    for entry in (LIBRARY / "dist" / "esm").iterdir():
        if entry.name != "providers":
            (dist / entry.name).symlink_to(entry)
    for entry in (LIBRARY / "dist" / "esm" / "providers").iterdir():
        (providers / entry.name).symlink_to(entry)
    target = providers / f"{NAME}.js"
    shutil.copy(built.out / "src" / "providers" / f"{NAME}.js", target)
    return target


def _calls(kit: Kit) -> list[dict[str, Any]]:
    calls = []
    for task in kit.manifest["tasks"]:
        model = kit.model(task)
        mapping = {
            "provider": NAME,
            "hfModelId": model["hub_model_id"],
            "providerId": model["provider_model_id"],
            "status": "live",
            "task": task,
        }
        call = CALLS[task]
        calls.append(
            {"task": task, "method": call.js_method, "args": call.js_args, "mapping": mapping}
        )
        if task == "conversational":
            calls.append({**calls[-1], "method": "chatCompletionStream", "stream": True})
        if task == "text-generation":
            calls.append({**calls[-1], "method": "textGenerationStream", "stream": True})
    return calls


def _check(task: str, method: str, out: Any) -> None:
    if method == "chatCompletionStream":
        assert "".join(c["choices"][0]["delta"].get("content") or "" for c in out if c["choices"])
    elif method == "textGenerationStream":
        assert len(out) >= 2 and all(isinstance(e["token"]["text"], str) for e in out)
        assert isinstance(out[-1]["generated_text"], str)
    elif task == "conversational":
        assert out["choices"][0]["message"]["content"] and out["usage"]["completion_tokens"] > 0
    elif task == "text-generation":
        assert isinstance(out["generated_text"], str) and out["generated_text"]
    elif task == "summarization":
        assert out["summary_text"].strip()
    elif task == "translation":
        assert out["translation_text"].strip()
    elif task in ("text-classification", "zero-shot-classification", "token-classification"):
        key = "entity_group" if task == "token-classification" else "label"
        assert out and all(isinstance(x[key], str) and 0 <= x["score"] <= 1 for x in out)
    elif task == "feature-extraction":
        vector = out[0] if isinstance(out[0], list) else out
        assert len(vector) == 384
    elif task == "sentence-similarity":
        assert len(out) == 1 and 0 < out[0] <= 1
    elif task == "text-to-image":
        assert out["png"] and out["size"] > 100
    else:
        assert out


def test_every_task_through_the_library(kit: Kit, built: Built, tmp_path: Path) -> None:
    key = kit.gateway.create_key("kit-js")
    spec = {
        "dist": str(LIBRARY / "dist" / "esm"),
        "provider": str(_runtime_provider(built, tmp_path)),
        "name": NAME,
        "key": key,
        "classes": {t: f"{PREFIX}{TASK_NAMES[t].class_name}Task" for t in kit.manifest["tasks"]},
        "calls": _calls(kit),
    }
    done = subprocess.run(
        ["node", str(HARNESS), json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "NODE_NO_WARNINGS": "1"},
    )
    assert done.returncode == 0, done.stderr
    results = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [(r["task"], r["method"]) for r in results] == [
        (c["task"], c["method"]) for c in spec["calls"]
    ]
    for result in results:
        assert result["ok"], result
        _check(result["task"], result["method"], result["output"])
    rows = kit.gateway.rows(
        "SELECT task, model FROM usage_records u JOIN api_keys k ON k.id = u.api_key_id "
        "WHERE k.name = 'kit-js' AND u.status = 200"
    )
    seen = {(r["task"], r["model"]) for r in rows}
    for task in kit.manifest["tasks"]:
        assert (task, kit.model(task)["provider_model_id"]) in seen, (task, seen)
