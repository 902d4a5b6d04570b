"""Edits to files that already exist in the client repositories.

A new file is written whole; an existing one (a registry, a list of providers) gets lines
inserted next to an anchor line. Each edit says where in words (for the person opening
the pull request, who keeps the lists in alphabetical order) and as an anchor pattern (so
that tests/provider_kit can apply it to the installed library's own files and compile the
result).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class Edit:
    path: str  # in its repository
    where: str  # for people: "in PROVIDERS, in alphabetical order"
    text: str  # the lines to insert, with their indentation
    anchor: str | None = None  # a regular expression matching one line of the file
    position: Literal["after", "before"] = "after"

    def apply(self, source: str) -> str:
        """``source`` with ``text`` inserted after (or before) the first line matching
        ``anchor``; ValueError when no line does."""
        if self.anchor is None:
            raise ValueError(f"{self.path}: this edit is made by hand ({self.where})")
        lines = source.splitlines(keepends=True)
        pattern = re.compile(self.anchor)
        for index, line in enumerate(lines):
            if pattern.search(line.rstrip("\n")):
                at = index + 1 if self.position == "after" else index
                insert = self.text if self.text.endswith("\n") else self.text + "\n"
                return "".join([*lines[:at], insert, *lines[at:]])
        raise ValueError(f"{self.path}: no line matches {self.anchor!r}")

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "where": self.where,
            "text": self.text,
            "anchor": self.anchor,
            "position": self.position,
        }


def edits_markdown(title: str, edits: list[Edit]) -> str:
    """The edits as a page a person can follow."""
    out = [f"# {title}", ""]
    for edit in edits:
        out += [f"## `{edit.path}`", "", f"{edit.where}:", "", "```", edit.text.rstrip("\n"), "```"]
        out.append("")
    return "\n".join(out)
