"""Reading the ``Inference-Id`` of a call made with ``huggingface_hub.InferenceClient``.

The client returns parsed outputs, never the response headers. It sends every request
through one shared HTTP session, ``huggingface_hub.get_session()`` (an httpx-style client;
a ``requests.Session`` before huggingface_hub 1.0), so a response hook on that session sees
each response's headers - for a stream, as soon as they arrive. That is what a user does
to read the id too (docs/HUGGINGFACE_PROVIDER.md shows it).
"""

from __future__ import annotations

from typing import Any

HEADER = "inference-id"


class InferenceIds:
    """Collects the ``Inference-Id`` of every response the client receives."""

    def __init__(self) -> None:
        self._seen: list[str | None] = []
        self._installed_on: int | None = None

    def _hook(self, response: Any, *_args: Any, **_kwargs: Any) -> None:
        self._seen.append(response.headers.get(HEADER))

    def install(self) -> None:
        """Hook the client's shared session (again, if the library made a new one)."""
        from huggingface_hub import get_session

        session: Any = get_session()
        if self._installed_on == id(session):
            return
        if hasattr(session, "event_hooks"):  # httpx (huggingface_hub >= 1.0)
            hooks = dict(session.event_hooks)
            hooks["response"] = [*hooks.get("response", []), self._hook]
            session.event_hooks = hooks
        else:  # requests
            session.hooks.setdefault("response", []).append(self._hook)
        self._installed_on = id(session)

    def start(self) -> None:
        self.install()
        self._seen.clear()

    def last(self) -> str | None:
        """The id of the last response since ``start()`` (None: no response or no id)."""
        return self._seen[-1] if self._seen else None
