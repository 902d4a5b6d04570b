"""Who the provider is: its Hub name, display name, base URL and website, checked.

Every value here ends up inside generated Python, TypeScript, Markdown, YAML and SVG. They
are checked against narrow patterns first (so that nothing surprising reaches a template)
and escaped again where they are written (``render``). A value that does not fit is
refused with a message naming the option, never silently changed.
"""

from __future__ import annotations

import ipaddress
import keyword
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from gatewayz.config import ConfigError

# Hub provider names look like "groq", "fal-ai", "zai-org": lower-case words joined by '-'.
_NAME = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
NAME_MAX = 40
# Names the clients already use for something else.
RESERVED_NAMES = frozenset({"auto", "hf-inference", "huggingface", "default", "none"})
_DISPLAY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 .&+-]*$")
DISPLAY_MAX = 40
_HUB_ORG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*(?:\.[A-Za-z0-9-]+)*$")
_HOST = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$")
_PATH = re.compile(r"^(?:/[A-Za-z0-9._~-]+)*/?$")
URL_MAX = 200
_LOOPBACK_NAMES = frozenset({"localhost"})


@dataclass(frozen=True, slots=True)
class Identity:
    name: str  # the provider's name on the Hub and in both clients
    display: str  # how people read it: "Acme AI"
    base_url: str  # the gateway's public root, no trailing '/'
    website: str
    hub_org: str  # the Hub organization (PROVIDERS_HUB_ORGS)

    @property
    def python_module(self) -> str:
        """``fal-ai`` -> ``fal_ai`` (src/huggingface_hub/inference/_providers/fal_ai.py)."""
        return self.name.replace("-", "_")

    @property
    def class_prefix(self) -> str:
        """``fal-ai`` -> ``FalAi``: the start of every generated class name."""
        return "".join(part.capitalize() for part in self.name.split("-"))

    @property
    def js_constant(self) -> str:
        """``fal-ai`` -> ``FAL_AI_API_BASE_URL``."""
        return self.name.upper().replace("-", "_") + "_API_BASE_URL"


def check_name(name: str) -> str:
    if len(name) > NAME_MAX or not _NAME.match(name):
        raise ConfigError(
            f"--name {name!r}: use lower-case letters and digits, words joined by '-' "
            f"(like 'fal-ai'), starting with a letter, at most {NAME_MAX} characters"
        )
    if name in RESERVED_NAMES:
        raise ConfigError(f"--name {name!r} is reserved by the Hugging Face clients")
    if keyword.iskeyword(name.replace("-", "_")):
        raise ConfigError(f"--name {name!r} would make a Python module named after a keyword")
    return name


def check_display(display: str) -> str:
    if len(display) > DISPLAY_MAX or not _DISPLAY.match(display) or display != display.strip():
        raise ConfigError(
            f"--display-name {display!r}: letters, digits, spaces and . & + -, "
            f"at most {DISPLAY_MAX} characters"
        )
    return display


def check_hub_org(org: str) -> str:
    if len(org) > 96 or not _HUB_ORG.match(org):
        raise ConfigError(f"--hub-org {org!r} is not a Hub organization name")
    return org


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(option: str, url: str) -> str:
    """An ``https://`` URL (``http://`` on a loopback address only, for rehearsals), with
    no credentials, query or fragment, and only plain characters; returned without a
    trailing '/'."""
    problem = _url_problem(url)
    if problem:
        raise ConfigError(f"{option} {url!r}: {problem}")
    return url.rstrip("/")


def _url_problem(url: str) -> str | None:
    if len(url) > URL_MAX:
        return f"at most {URL_MAX} characters"
    if not url.isascii() or not url.isprintable() or any(c in url for c in " \"'`<>\\{}|^"):
        return "only plain URL characters (no spaces, quotes, brackets or backslashes)"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"not a URL ({exc})"
    if parts.scheme not in ("https", "http"):
        return "use https://"
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return "no user name or password in the URL (the clients send the key in a header)"
    if parts.query or parts.fragment or "?" in url or "#" in url:
        return "no query string or fragment"
    host = (parts.hostname or "").lower()
    ip_host = host.startswith("[") or ":" in host
    if not host or (not ip_host and not _HOST.match(host)):
        return "needs a host name"
    if parts.scheme == "http" and not _is_loopback(host):
        return "use https:// (http:// is accepted for a loopback address only)"
    if port == 0:
        return "port 0 is not a port"
    if not _PATH.match(parts.path) or "/../" in parts.path + "/" or "/./" in parts.path + "/":
        return "the path may hold letters, digits and . _ ~ - between slashes only"
    return None


def identity(
    name: str,
    base_url: str,
    *,
    display: str | None = None,
    website: str | None = None,
    hub_org: str | None = None,
) -> Identity:
    name = check_name(name)
    base = check_url("--base-url", base_url)
    if base.endswith(("/v1", "/hf/tasks")):
        raise ConfigError(
            f"--base-url {base_url!r}: give the gateway's root; the helpers add "
            "/v1/chat/completions and /hf/tasks/{task} to it"
        )
    return Identity(
        name=name,
        display=check_display(display if display is not None else _display_of(name)),
        base_url=base,
        website=check_url("--website", website) if website is not None else base,
        hub_org=check_hub_org(hub_org if hub_org is not None else name),
    )


def _display_of(name: str) -> str:
    return " ".join(part.capitalize() for part in name.split("-"))
