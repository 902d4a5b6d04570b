"""The README's command synopsis agrees with the CLI: every command group's subcommands are
listed, and every option it shows is one ``gatewayz GROUP SUBCOMMAND --help`` lists."""

from __future__ import annotations

import contextlib
import functools
import io
import re

import pytest

from gatewayz.cli import parser
from tests.servers import ROOT

README = (ROOT / "README.md").read_text()


@functools.cache
def gatewayz_help(*command: str) -> str:
    """What ``gatewayz COMMAND --help`` prints (the command's own parser, in process)."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), pytest.raises(SystemExit) as exited:
        parser().parse_args([*command, "--help"])
    assert exited.value.code == 0
    return printed.getvalue()


def subcommands(group: str) -> list[str]:
    """The subcommands ``gatewayz GROUP --help`` offers (``{a,b,c}``)."""
    found = re.search(r"\{([\w,-]+)\}", gatewayz_help(group))
    assert found is not None, group
    return found.group(1).split(",")


def synopsis() -> dict[tuple[str, ...], set[str]]:
    """(group, subcommand) or (serve,) -> the options the README shows for it."""
    start = README.index("```\ngatewayz serve ") + 4
    block = README[start : README.index("```", start)]
    shown: dict[tuple[str, ...], set[str]] = {}
    for line in block.splitlines():
        words = line.split("#")[0].split()
        assert words[0] == "gatewayz", line
        if words[1] == "serve":
            shown[("serve",)] = set(re.findall(r"--[\w-]+", line))
            continue
        group, known = words[1], set(subcommands(words[1]))
        command: tuple[str, ...] | None = None
        for segment in " ".join(words[2:]).split(" | "):
            first = segment.split()[0]
            if first in known:
                command = (group, first)
                shown.setdefault(command, set())
            assert command is not None, line
            shown[command] |= set(re.findall(r"--[\w-]+", segment))
    return shown


def test_the_readme_synopsis_matches_the_cli() -> None:
    shown = synopsis()
    for group in ("keys", "usage", "models", "hf"):
        listed = {sub for g, *rest in shown if g == group for sub in rest}
        assert listed == set(subcommands(group)), group
    for command, options in shown.items():
        offered = set(re.findall(r"--[\w-]+", gatewayz_help(*command)))
        assert options <= offered, (command, options - offered)
