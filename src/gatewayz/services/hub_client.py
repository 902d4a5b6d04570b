"""A small client for Hugging Face's partner Model Mapping API, with the shared retry rules.

Every call returns a ``HubReply`` - it never raises for an HTTP status - so the sync can
report each mapping's outcome and carry on with the next.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
import orjson

from gatewayz.config import ConfigError
from gatewayz.retries import MAX_RETRIES, retry_delay, should_retry

DEFAULT_HUB_URL = "https://huggingface.co"
HUB_TIMEOUT_S = 30.0

# What a failed status means for a mapping, in the operator's words.
STATUS_MEANING = {
    0: "the Hub could not be reached",
    400: "the Hub refused the request",
    401: "the Hub rejected the token (check --token-env)",
    403: "the token has no write access to the provider's Hub organization",
    404: "the Hub does not know this model or mapping",
    409: "the Hub already holds a conflicting mapping",
    422: "the Hub refused the mapping",
    429: "the Hub kept rate-limiting the request",
}


def check_hub_url(url: str) -> str:
    """``url`` if the Hub token may be sent there: HTTPS, or plain HTTP to a loopback
    address (a local stand-in); anything else would put the token on the wire in clear."""
    try:
        parts = urlsplit(url)
        scheme, host = parts.scheme, (parts.hostname or "").lower()
    except ValueError:  # e.g. an unclosed IPv6 bracket
        scheme, host = "", ""
    if scheme == "https" and host:
        return url
    if scheme == "http" and _is_loopback(host):
        return url
    raise ConfigError(
        f"Hub URL {url!r} (--hub-url or $HF_ENDPOINT): the Hub token is only sent over "
        "HTTPS; plain http:// is accepted for loopback only (127.0.0.0/8, ::1, localhost)"
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def meaning(status: int) -> str:
    if status >= 500:
        return "the Hub failed"
    return STATUS_MEANING.get(status, "the Hub refused the request")


@dataclass(frozen=True, slots=True)
class HubReply:
    status: int  # 0 when no answer came back
    body: Any
    attempts: int

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def message(self) -> str:
        detail = self.body.get("error") if isinstance(self.body, dict) else self.body
        base = meaning(self.status)
        tries = f" after {self.attempts} attempts" if self.attempts > 1 else ""
        code = f"HTTP {self.status}" if self.status else "no answer"
        return f"{code}{tries}: {base}" + (f" - {detail}" if detail else "")


class HubClient:
    """Calls ``{hub}/api/partners/{provider}/models...`` with a Hub token."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        provider: str,
        token: str | None,
        *,
        max_retries: int = MAX_RETRIES,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._session = session
        base_url = check_hub_url(base_url).rstrip("/")
        self._models = f"{base_url}/api/models"
        self._root = f"{base_url}/api/partners/{quote(provider, safe='')}/models"
        self._token = token
        self._max_retries = max_retries
        self._sleep = sleep
        self._rng = rng or random.Random()

    async def list(self) -> HubReply:
        return await self._call("GET", self._root)

    async def model_info(self, hub_model_id: str) -> HubReply:
        """``GET /api/models/{id}``: the Hub model's ``pipeline_tag`` and ``tags``."""
        return await self._call("GET", f"{self._models}/{quote(hub_model_id, safe='/')}")

    async def create(self, body: dict[str, Any]) -> HubReply:
        return await self._call("POST", self._root, body)

    async def set_status(self, mapping_id: str, status: str) -> HubReply:
        url = f"{self._root}/{quote(mapping_id, safe='')}/status"
        return await self._call("PUT", url, {"status": status})

    async def delete(self, mapping_id: str) -> HubReply:
        return await self._call("DELETE", f"{self._root}/{quote(mapping_id, safe='')}")

    async def _call(self, method: str, url: str, body: Any = None) -> HubReply:
        headers = {"Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        data = None
        if body is not None:
            data = orjson.dumps(body)
            headers["Content-Type"] = "application/json"
        retries = 0
        while True:
            reply, retry_after = await self._once(method, url, headers, data, retries + 1)
            if reply.ok or not should_retry(reply.status, retries, self._max_retries):
                return reply
            await self._sleep(retry_delay(retries, retry_after, self._rng))
            retries += 1

    async def _once(
        self, method: str, url: str, headers: dict[str, str], data: bytes | None, attempt: int
    ) -> tuple[HubReply, str | None]:
        timeout = aiohttp.ClientTimeout(total=HUB_TIMEOUT_S)
        try:
            async with self._session.request(
                method, url, headers=headers, data=data, timeout=timeout
            ) as resp:
                raw = await resp.read()
                return HubReply(resp.status, _decode(raw), attempt), resp.headers.get("Retry-After")
        except (aiohttp.ClientError, TimeoutError) as exc:
            return HubReply(0, str(exc) or type(exc).__name__, attempt), None


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw.decode("utf-8", "replace")[:500]
