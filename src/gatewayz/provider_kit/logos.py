"""Light and dark SVG logos: the operator's own, checked, or a generated wordmark.

A given SVG is copied byte for byte once it is known to be a plain image: well-formed XML
whose root is ``<svg>``, with no DTD (no entities), no script, no ``foreignObject``, no
event handler attribute and no reference to anything outside the file. Hugging Face shows
the logo on its site, so anything that could run or fetch is refused rather than cleaned.
"""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree import ElementTree

from gatewayz.config import ConfigError
from gatewayz.provider_kit.render import render, xml

MAX_LOGO_BYTES = 512 * 1024
_SVG_NS = "{http://www.w3.org/2000/svg}"
_FORBIDDEN_TAGS = {"script", "foreignobject", "iframe", "embed", "object", "audio", "video"}
_HREF = re.compile(r"(?:^|})href$")
# The wordmark's size: about 0.62 em per character of the font below, plus margins.
_EM = 48
_CHAR_WIDTH = 0.62


def wordmark(display: str, *, dark: bool) -> str:
    width = int(len(display) * _EM * _CHAR_WIDTH) + _EM
    return render(
        "wordmark.svg.tmpl",
        text=xml(display),
        width=str(width),
        x=str(width // 2),
        color="#F9FAFB" if dark else "#111827",
    )


def checked_logo(option: str, path: str) -> bytes:
    """The file at ``path`` if it is a plain SVG image; ConfigError naming what is not."""
    file = Path(path)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{option} {path!r}: cannot read it ({exc.strerror})") from None
    problem = svg_problem(data)
    if problem:
        raise ConfigError(f"{option} {path!r}: {problem}")
    return data


def svg_problem(data: bytes) -> str | None:
    if len(data) > MAX_LOGO_BYTES:
        return f"larger than {MAX_LOGO_BYTES // 1024} KiB"
    if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
        return "a DTD or entity declaration is not accepted in a logo"
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        return f"not well-formed XML ({exc})"
    if root.tag not in (f"{_SVG_NS}svg", "svg"):
        return "the root element is not <svg>"
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1].lower() if isinstance(element.tag, str) else ""
        if tag in _FORBIDDEN_TAGS:
            return f"<{tag}> is not accepted in a logo"
        for name, value in element.attrib.items():
            local = name.rsplit("}", 1)[-1].lower()
            if local.startswith("on"):
                return f"the event handler attribute {local!r} is not accepted in a logo"
            if _HREF.search(name) and not value.strip().startswith("#"):
                return "a logo may not refer to another file or address (href)"
            if (
                "url(" in value.replace(" ", "").lower()
                and "url(#" not in value.replace(" ", "").lower()
            ):
                return "a logo may not refer to another file or address (url())"
        if tag == "style" and element.text and re.search(r"url\(\s*[^#\s]|@import", element.text):
            return "a logo's style may not load another file or address"
    return None
