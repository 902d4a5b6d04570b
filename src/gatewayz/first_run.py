"""The embedded default's welcome: make sure there is a key to use, and say how to use it."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path

from gatewayz.config import ConfigError, Settings
from gatewayz.services.keys import KeyStore


async def ensure_first_key(settings: Settings, store: KeyStore) -> str | None:
    """Create an admin key on first start and keep it in ``first_key_file`` (mode 0600);
    on later starts show the same key while it is still active. The file is rewritten
    each time, so it ends 0600 and ours whatever was there before."""
    if settings.first_key_file is None:
        return None
    path = Path(settings.first_key_file)
    saved = _read(path)
    if not (saved and await store.is_active(saved)):
        saved = await store.create("first-run", admin=True)
    _save(path, saved)
    return saved


def _read(path: Path) -> str | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a symbolic link
            raise _symlink(path) from None
        raise ConfigError(f"first_key_file {path}: cannot read it: {exc.strerror}") from None
    with os.fdopen(fd, encoding="utf-8") as file:
        return file.read().strip() or None


def _save(path: Path, key: str) -> None:
    """Write a 0600 file beside ``path`` and rename it over it: no reader ever sees a
    partial key or a wider mode, and a symbolic link there is refused, not followed."""
    if path.is_symlink():
        raise _symlink(path)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)  # mkstemp creates it 0600; kept explicit: it holds an admin key
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(key + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


def _symlink(path: Path) -> ConfigError:
    return ConfigError(
        f"first_key_file {path} is a symbolic link; refusing to follow it with an API key "
        "(remove it, or point first_key_file at a regular file)"
    )


def welcome(key: str, host: str, port: int, model: str) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    return (
        f"\nGatewayz is starting on http://{shown}:{port} with the embedded model {model!r}.\n"
        f"Your API key (also saved in ./.gatewayz-key):\n  {key}\n\nTry it:\n"
        f"  curl http://{shown}:{port}/v1/chat/completions \\\n"
        f"    -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \\\n"
        f'    -d \'{{"model": "{model}", "messages": '
        f'[{{"role": "user", "content": "What is the capital of France?"}}]}}\'\n'
    )
