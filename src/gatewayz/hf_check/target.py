"""The model under check, and the ``InferenceClient`` pointed at it through the gateway."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gatewayz.hf_check.headers import InferenceIds

# Longer than any bound, so a slow answer is measured and reported rather than cut off.
CLIENT_TIMEOUT_S = 120.0


@dataclass(frozen=True, slots=True)
class Target:
    url: str  # the gateway's root, e.g. http://127.0.0.1:8000
    key: str
    model: str  # the gateway model id (the Hub mapping's providerModel)
    ids: InferenceIds

    def task_client(self) -> Any:
        """The client as HF's probes use it for a task: the model's own URL."""
        from huggingface_hub import InferenceClient

        return InferenceClient(
            model=f"{self.url}/models/{self.model}", token=self.key, timeout=CLIENT_TIMEOUT_S
        )

    def chat_client(self) -> Any:
        """The OpenAI-compatible form: ``base_url`` the gateway, the model in the body."""
        from huggingface_hub import InferenceClient

        return InferenceClient(base_url=self.url, api_key=self.key, timeout=CLIENT_TIMEOUT_S)
