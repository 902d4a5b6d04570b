"""Templates (package data under ``templates/``) and the escapes for each kind of file.

A template marks a value as ``{{ key }}``. Rendering fails when a key is missing or left
unused, so a template and its caller cannot drift apart. Values are escaped by the caller
for the place they go: ``code_string`` for a string literal in Python or TypeScript (a
JSON string is a valid literal in both), ``md`` for Markdown/HTML/Handlebars text,
``xml`` for SVG.
"""

from __future__ import annotations

import html
import json
import re
from importlib.resources import files

_MD_SPECIAL = "&<>\"'{}|[]()`*_\\#!~$"
_MD_ESCAPES = {char: f"&#{ord(char)};" for char in _MD_SPECIAL}
_PLACEHOLDER = re.compile(r"\{\{ ([a-z_]+) \}\}")


class TemplateError(Exception):
    """A template and its values do not match (a bug in the kit, not the operator's input)."""


def template(name: str) -> str:
    return files("gatewayz.provider_kit").joinpath("templates", name).read_text("utf-8")


def render(name: str, /, **values: str) -> str:
    text = template(name)
    used: set[str] = set()

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise TemplateError(f"{name}: no value for {{{{ {key} }}}}")
        used.add(key)
        return values[key]

    out = _PLACEHOLDER.sub(fill, text)
    unused = set(values) - used
    if unused:
        raise TemplateError(f"{name}: values not used: {', '.join(sorted(unused))}")
    return out


def code_string(value: str) -> str:
    """A double-quoted string literal valid in Python and TypeScript, ASCII only; ``<`` and
    ``>`` are escaped too, so that the literal cannot close an HTML script element."""
    return json.dumps(value, ensure_ascii=True).replace("<", "\\u003c").replace(">", "\\u003e")


def md(value: str) -> str:
    """Text safe in Markdown, HTML and Handlebars: no tag, entity, template or table cell
    can start inside it."""
    return "".join(_MD_ESCAPES.get(char, char) for char in value)


def xml(value: str) -> str:
    return html.escape(value, quote=True)
