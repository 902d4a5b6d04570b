"""The embedded default's welcome: make sure there is a key to use, and say how to use it."""

from __future__ import annotations

import os
from pathlib import Path

from gatewayz.config import Settings
from gatewayz.services.keys import KeyStore


async def ensure_first_key(settings: Settings, store: KeyStore) -> str | None:
    """Create an admin key on first start and keep it in ``first_key_file`` (mode 0600);
    on later starts show the same key while it is still active."""
    if settings.first_key_file is None:
        return None
    path = Path(settings.first_key_file)
    saved = _read(path)
    if saved and await store.is_active(saved):
        return saved
    key = await store.create("first-run", admin=True)
    _save(path, key)
    return key


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def _save(path: Path, key: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(key + "\n")


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
