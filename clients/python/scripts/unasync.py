"""Generate ``_sync_client.py`` from ``_async_client.py`` (the one source of truth).

    python scripts/unasync.py          # rewrite the sync client
    python scripts/unasync.py --check  # exit 1 if it is out of date (run by the tests)

The rewrite is token-level, as httpcore's unasync script: ``async``/``await`` go, async
names become their sync twins, then ``ruff format`` tidies lines that got shorter.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "gatewayz_py_hf"
SOURCE = PACKAGE / "_async_client.py"
TARGET = PACKAGE / "_sync_client.py"

SUBSTITUTIONS = [
    (r"\bAsyncGatewayzClient\b", "GatewayzClient"),
    (r"\bAsyncStream\b", "Stream"),
    (r"\bAsyncIterator\b", "Iterator"),
    (r"\bhttpx\.AsyncClient\b", "httpx.Client"),
    (r"\basync def\b", "def"),
    (r"\basync with\b", "with"),
    (r"\basync for\b", "for"),
    (r"\bawait ", ""),
    (r"\b__aenter__\b", "__enter__"),
    (r"\b__aexit__\b", "__exit__"),
    (r"\b__aiter__\b", "__iter__"),
    (r"\b__anext__\b", "__next__"),
    (r"\baclose\b", "close"),
    (r"\baiter_lines\b", "iter_lines"),
    (r"\baread\b", "read"),
    (r"\bStopAsyncIteration\b", "StopIteration"),
    (r"\banyio\.sleep\b", "time.sleep"),
    (r"^import anyio\n", ""),
    (
        r"^from __future__ import annotations\n\n",
        "from __future__ import annotations\n\nimport time\n",
    ),
    (r"\bAsynchronous client\b", "Synchronous client"),
]
HEADER = (
    '"""``GatewayzClient``: generated from ``_async_client.py`` by ``scripts/unasync.py``.\n\n'
    'Do not edit: change ``_async_client.py`` and run ``python scripts/unasync.py``.\n"""\n'
)


def generate() -> str:
    text = SOURCE.read_text()
    docstring_end = text.index('"""', 3) + 3
    text = HEADER + text[docstring_end:].lstrip("\n").join(["\n", ""])
    for pattern, replacement in SUBSTITUTIONS:
        text = re.sub(pattern, replacement, text, flags=re.MULTILINE)
    sorted_imports = _ruff("check", "--select", "I", "--fix", "--quiet", text=text)
    return _ruff("format", text=sorted_imports)


def _ruff(*args: str, text: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "ruff", *args, "--stdin-filename", str(TARGET), "-"],
        input=text,
        capture_output=True,
        text=True,
        check=True,
        cwd=PACKAGE.parent.parent,
    )
    return done.stdout


def main(argv: list[str]) -> int:
    expected = generate()
    if "--check" in argv:
        if not TARGET.exists() or TARGET.read_text() != expected:
            print(f"{TARGET.name} is out of date: run python scripts/unasync.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(expected)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
