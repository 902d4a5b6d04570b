"""The probes through ``@huggingface/inference``: a Node script (``js/probe.mjs``, shipped
with the package) run once per model, its rows merged into the report under client ``js``.

The library is never downloaded here. It is looked for in ``--js-client DIR`` (a directory
whose ``node_modules`` holds it), else in the repository's ``clients/js`` (a source checkout
after ``npm ci``); without Node.js 18+ or the library, each model gets one ``js_client``
row, ``skip``, saying which was missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gatewayz.hf_check.outcome import Outcome, Result

CLIENT = "js"
SCRIPT = Path(__file__).with_name("js") / "probe.mjs"
# Where a source checkout keeps the TypeScript client's dependencies (``npm ci`` there).
REPOSITORY_JS = Path(__file__).resolve().parents[3] / "clients" / "js"
LIBRARY = Path("node_modules") / "@huggingface" / "inference"
# Per model: a chat model makes two calls, each bounded by the script's own 120 s timeout.
RUN_TIMEOUT_S = 300.0
MIN_NODE = 18  # global fetch and Blob
_RESULTS: frozenset[str] = frozenset({"pass", "fail", "skip"})


@dataclass(frozen=True, slots=True)
class JsClient:
    """Node and the library's directory, or why the JS probes are skipped."""

    node: str | None = None
    library: Path | None = None
    skip_reason: str | None = None


def _node_major(node: str) -> int | None:
    try:
        done = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30)
        return int(done.stdout.strip().lstrip("v").split(".")[0])
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


def find_js_client(js_dir: str | None) -> JsClient:
    """Where the JS probes' library is (``--js-client DIR``, else the repository's
    ``clients/js``), and a Node.js to run them; or the reason they cannot run."""
    node = shutil.which("node")
    if node is None:
        return JsClient(skip_reason="Node.js not found (no node on PATH)")
    major = _node_major(node)
    if major is None or major < MIN_NODE:
        return JsClient(skip_reason=f"Node.js {MIN_NODE}+ is needed; {node} is not")
    base = Path(js_dir).expanduser().resolve() if js_dir else REPOSITORY_JS
    library = base / LIBRARY
    if not (library / "package.json").is_file():
        where = "--js-client" if js_dir else "the repository's clients/js (give --js-client DIR)"
        return JsClient(
            skip_reason=f"@huggingface/inference not found: no {library} ({where}; "
            f"install it there with npm install @huggingface/inference)"
        )
    return JsClient(node=node, library=library)


def _outcome(line: str) -> Outcome | None:
    try:
        row: Any = json.loads(line)
    except ValueError:
        return None
    if not isinstance(row, dict) or row.get("result") not in _RESULTS:
        return None
    result: Result = row["result"]
    latency = row.get("latency_ms")
    return Outcome(
        str(row.get("probe")),
        CLIENT,
        result,
        row.get("reason"),
        latency if isinstance(latency, int) else None,
    )


def _first_error(text: str, key: str) -> str:
    """The error's line in Node's output (not the source line or the stack around it)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if "Error" in line.split(":")[0]]
    first = (errors or lines or ["no output"])[0]
    return first.replace(key, "***")[:300]


def run_js_probes(js: JsClient, url: str, key: str, model: str, task: str) -> list[Outcome]:
    """The model's probes through ``@huggingface/inference``'s ``InferenceClient``."""
    if js.node is None or js.library is None:
        return [Outcome("js_client", CLIENT, "skip", js.skip_reason)]
    spec = {"library": str(js.library), "url": url, "key": key, "model": model, "task": task}
    try:
        # The key goes on stdin, not argv: other users of the machine can read argv.
        done = subprocess.run(
            [js.node, str(SCRIPT)],
            input=json.dumps(spec),
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
            env={**os.environ, "NODE_NO_WARNINGS": "1"},
        )
    except subprocess.TimeoutExpired:
        why = f"the @huggingface/inference probes did not finish within {RUN_TIMEOUT_S:g} s"
        return [Outcome("js_client", CLIENT, "fail", why)]
    outcomes = [o for o in map(_outcome, done.stdout.splitlines()) if o is not None]
    if done.returncode != 0 or not outcomes:
        why = f"the probe script failed (exit {done.returncode}): {_first_error(done.stderr, key)}"
        outcomes.append(Outcome("js_client", CLIENT, "fail", why))
    return outcomes
