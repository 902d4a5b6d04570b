"""Writing the kit into ``--out`` without touching anything else.

The directory must be new, empty, or a kit written before (it holds ``kit.json``; its
files are replaced). Every path is relative, checked to stay inside the directory, and
written with ``O_NOFOLLOW`` after its parent directories are checked not to be symbolic
links, so a link planted in an old kit cannot send a file elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from gatewayz.config import ConfigError
from gatewayz.provider_kit.kit import MANIFEST


def check_out(out: str) -> Path:
    """The output directory, resolved; ConfigError if it cannot take a kit."""
    if "\x00" in out or not out.strip():
        raise ConfigError("--out: give a directory")
    target = Path(out)
    try:
        if target.is_symlink():
            raise ConfigError(f"--out {out!r} is a symbolic link; give the directory itself")
        target = target.resolve()
        if target.exists():
            if not target.is_dir():
                raise ConfigError(f"--out {out!r} exists and is not a directory")
            if any(target.iterdir()) and not (target / MANIFEST).is_file():
                raise ConfigError(
                    f"--out {out!r} is not empty and holds no kit ({MANIFEST}); "
                    "give a new or empty directory"
                )
    except OSError as exc:
        raise ConfigError(f"--out {out!r}: {exc.strerror}") from None
    return target


def write(target: Path, files: dict[str, bytes]) -> list[Path]:
    written = []
    for rel, data in sorted(files.items()):
        parts = PurePosixPath(rel).parts
        if (
            not parts
            or PurePosixPath(rel).is_absolute()
            or any(p in ("", ".", "..") for p in parts)
        ):
            raise ValueError(f"not a relative path inside the kit: {rel!r}")
        path = target.joinpath(*parts)
        _make_dirs(target, parts[:-1])
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(path, flags, 0o644)
        except OSError as exc:
            raise ConfigError(f"--out: cannot write {rel}: {exc.strerror}") from None
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        written.append(path)
    return written


def _make_dirs(target: Path, parts: tuple[str, ...]) -> None:
    target.mkdir(parents=True, exist_ok=True)
    current = target
    for part in parts:
        current = current / part
        if current.is_symlink():
            raise ConfigError(
                f"--out: {current} is a symbolic link; remove it or use a new directory"
            )
        current.mkdir(exist_ok=True)
