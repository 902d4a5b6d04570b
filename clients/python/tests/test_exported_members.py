"""The public surface: exactly what ``__all__`` lists, all of it importable; everything
else lives in private ``_`` modules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import gatewayz_py_hf
from gatewayz_py_hf import types

ROOT = Path(__file__).resolve().parent.parent


def test_all_is_exact_and_importable() -> None:
    public = {name for name in dir(gatewayz_py_hf) if not name.startswith("_")}
    exported = set(gatewayz_py_hf.__all__)
    assert len(exported) == len(gatewayz_py_hf.__all__)  # no duplicates
    assert public == exported - {"__version__"}
    for name in gatewayz_py_hf.__all__:
        assert getattr(gatewayz_py_hf, name) is not None
    assert set(types.__all__) <= exported
    assert {n for n in dir(types) if not n.startswith("_") and n != "annotations"} == set(
        types.__all__
    )


def test_both_clients_have_the_same_methods() -> None:
    def methods(cls: type) -> set[str]:
        return {n for n in dir(cls) if not n.startswith("_")}

    sync = methods(gatewayz_py_hf.GatewayzClient) - {"close"}
    asynchronous = methods(gatewayz_py_hf.AsyncGatewayzClient) - {"aclose"}
    assert sync == asynchronous
    assert {
        "text_generation",
        "chat_completion",
        "question_answering",
        "text_to_image",
        "list_models",
        "map_model",
        "calculate_cost",
        "get_usage",
        "get_request_costs",
    } <= sync


def test_py_typed_is_shipped() -> None:
    assert (Path(gatewayz_py_hf.__file__).parent / "py.typed").is_file()


def test_sync_client_is_generated_from_the_async_one() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "unasync.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
