"""``python -m build`` makes a wheel and an sdist; the wheel installs into a fresh venv
(dependencies resolved by pip) and imports there, typed."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_and_sdist_install_in_a_fresh_venv(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    # --no-isolation: the backend (hatchling) comes from the dev extra, no download.
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
    )
    wheel = next(dist.glob("gatewayz_py_hf-*.whl"))
    sdist = next(dist.glob("gatewayz_py_hf-*.tar.gz"))

    names = zipfile.ZipFile(wheel).namelist()
    assert "gatewayz_py_hf/py.typed" in names and "gatewayz_py_hf/_sync_client.py" in names
    assert not any(n.startswith(("tests/", "scripts/")) for n in names)
    with tarfile.open(sdist) as tar:
        members = {m.split("/", 1)[1] for m in tar.getnames() if "/" in m}
    assert {
        "pyproject.toml",
        "README.md",
        "src/gatewayz_py_hf/py.typed",
        "scripts/unasync.py",
    } <= members

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", str(wheel)],
        capture_output=True,
        text=True,
    )
    assert install.returncode == 0, install.stderr
    probe = (
        "import gatewayz_py_hf as g, pathlib; "
        "print(g.__version__, pathlib.Path(g.__file__).parent.parent, "
        "g.GatewayzClient('k').base_url)"
    )
    out = subprocess.run(
        [str(python), "-c", probe],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
    ).stdout.split()
    assert out[0] == "0.1.0"
    assert Path(out[1]).is_relative_to(venv)  # the installed copy, not this checkout
    assert out[2] == "http://127.0.0.1:8000/"
