"""Inputs that would inject code into the generated files, or write outside ``--out``, are
refused with a message naming the option (exit 2) or escaped where they are written."""

from __future__ import annotations

import ast
import os
from decimal import Decimal
from pathlib import Path

import pytest

from gatewayz.config import ConfigError, ModelConfig, Pricing, RouteConfig
from gatewayz.provider_kit.identity import identity
from gatewayz.provider_kit.kit import build, generated_logos
from gatewayz.provider_kit.logos import svg_problem
from gatewayz.provider_kit.offer import offer_of
from gatewayz.provider_kit.writer import check_out, write
from tests.provider_kit.conftest import HOSTILE_ID, Kit, run_kit

BAD_NAMES = [
    "Acme",  # upper case
    "acme_ai",
    "-acme",
    "acme-",
    "1acme",
    "acme--ai",
    'acme"',
    "acme'); import os; ('",
    "acme\nimport os",
    "../acme",
    "acme/../../x",
    "</script>",
    "${x}",
    "{{x}}",
    "a" * 41,
    "auto",
    "hf-inference",
    "class",  # a Python keyword as the module name
    "",
]

BAD_URLS = [
    "http://api.example.com",  # plain http off loopback
    "ftp://api.example.com",
    "javascript:alert(1)",
    "https://user:secret@api.example.com",
    "https://api.example.com/?q=1",
    "https://api.example.com/#x",
    'https://api.example.com/"+require("fs")+"',
    "https://api.example.com/</script>",
    "https://api.example.com/${x}",
    "https://api.example.com/{{x}}",
    "https://api.example.com/a b",
    "https://api.example.com/\nimport os",
    "https://api.example.com\\@evil.com",
    "https://api.example.com/../x",
    "https://ap\u00ef.example.com",
    "https:///path",
    "https://api.example.com:99999",
    "https://" + "a" * 200 + ".com",
    "https://api.example.com/v1",  # the helpers add /v1/... themselves
]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_names_that_could_break_out_are_refused(name: str) -> None:
    with pytest.raises(ConfigError, match="--name"):
        identity(name, "https://api.example.com")


@pytest.mark.parametrize("url", BAD_URLS)
def test_base_urls_that_could_break_out_are_refused(url: str) -> None:
    with pytest.raises(ConfigError, match="--base-url"):
        identity("acme", url)


@pytest.mark.parametrize("display", ['Acme"', "Acme <b>", "Acme\nAI", " Acme", "{{x}}", "A" * 41])
def test_display_names_that_could_break_out_are_refused(display: str) -> None:
    with pytest.raises(ConfigError, match="--display-name"):
        identity("acme", "https://api.example.com", display=display)


def test_good_values_pass() -> None:
    who = identity("fal-ai", "https://api.example.com/gw/", display="Fal & Co.")
    assert who.base_url == "https://api.example.com/gw"
    assert (who.python_module, who.class_prefix, who.js_constant) == (
        "fal_ai",
        "FalAi",
        "FAL_AI_API_BASE_URL",
    )
    assert identity("acme", "http://127.0.0.1:8000").base_url == "http://127.0.0.1:8000"
    assert identity("acme", "http://[::1]:8000").base_url == "http://[::1]:8000"


def _hostile_kit() -> dict[str, bytes]:
    """A kit whose registry holds ids with every character that means something in one of
    the generated languages."""
    models = [
        ModelConfig(
            id=model_id,
            hub_model_id=f"org/m{i}",
            task=task,  # type: ignore[arg-type]
            routes=(RouteConfig(provider="local", model="x"),),
            pricing=Pricing(input_per_million_usd=Decimal("0.5")),
        )
        for i, (model_id, task) in enumerate(
            [
                (HOSTILE_ID, "conversational"),
                ('a\\"b\'\'\'c"""d', "summarization"),
                ("*/ ]]> --> <!-- {{{x}}} | </code>", "text-to-image"),
                ("$(rm)`x`#${y}", "fill-mask"),
            ]
        )
    ]
    who = identity("acme", "https://api.example.com", display="R&D Labs")
    return build(who, offer_of(models), generated_logos(who))


def test_hostile_registry_ids_are_escaped_in_every_file() -> None:
    files = _hostile_kit()
    for path, data in files.items():
        text = data.decode()
        if path.endswith(".py"):
            tree = ast.parse(text)  # still Python, and the ids are plain string constants
            constants = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)}
            if path.endswith("test_inference_providers.py"):
                assert HOSTILE_ID in constants
        assert "</script>" not in text, path  # string literals escape < and >
        if path.endswith((".handlebars", ".md", ".svg")):
            # Markup: no template, comment or element can start inside a value.
            assert "{{x}}" not in text and "{{{x}}}" not in text and "<!--" not in text, path
        if path.endswith(".handlebars"):
            # Only the generation script's own three placeholders remain.
            assert text.count("{{") == 3
        if path.endswith(".svg"):
            assert svg_problem(data) is None and "R&amp;D Labs" in text


def test_kit_files_stay_inside_out(tmp_path: Path) -> None:
    out = check_out(str(tmp_path / "kit"))
    write(out, _hostile_kit())
    written = {p.relative_to(out) for p in out.rglob("*") if p.is_file()}
    assert Path("kit.json") in written and all(".." not in p.parts for p in written)
    with pytest.raises(ValueError):
        write(out, {"../escape.txt": b"x"})
    with pytest.raises(ValueError):
        write(out, {"/tmp/escape.txt": b"x"})
    assert not (tmp_path / "escape.txt").exists()


def test_a_planted_link_in_an_old_kit_is_not_followed(tmp_path: Path) -> None:
    out = tmp_path / "kit"
    write(check_out(str(out)), _hostile_kit())
    victim = tmp_path / "victim"
    victim.mkdir()
    logos = out / "logos"
    for f in logos.iterdir():
        f.unlink()
    logos.rmdir()
    logos.symlink_to(victim)  # the next kit's logos would land in victim/
    with pytest.raises(ConfigError, match="symbolic link"):
        write(check_out(str(out)), _hostile_kit())
    assert list(victim.iterdir()) == []
    file_link = out / "CHECKLIST.md"
    file_link.unlink()
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    file_link.symlink_to(target)
    with pytest.raises(ConfigError, match="cannot write"):
        write(check_out(str(out)), _hostile_kit())
    assert target.read_text() == "keep me"


def test_out_must_be_new_empty_or_an_old_kit(tmp_path: Path) -> None:
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "thesis.tex").write_text("mine")
    with pytest.raises(ConfigError, match="not empty"):
        check_out(str(busy))
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(ConfigError, match="not a directory"):
        check_out(str(a_file))
    link = tmp_path / "link"
    link.symlink_to(busy)
    with pytest.raises(ConfigError, match="symbolic link"):
        check_out(str(link))
    empty = tmp_path / "empty"
    empty.mkdir()
    assert check_out(str(empty)) == empty.resolve()


SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">{}</svg>'


@pytest.mark.parametrize(
    "body",
    [
        "<script>alert(1)</script>",
        '<rect onload="alert(1)" width="1" height="1"/>',
        '<foreignObject><div xmlns="http://www.w3.org/1999/xhtml">x</div></foreignObject>',
        '<image href="https://evil.example/x.png"/>',
        '<use xmlns:xlink="http://www.w3.org/1999/xlink" xlink:href="http://evil/x.svg#a"/>',
        '<rect style="fill:url(https://evil/x)" width="1" height="1"/>',
        "<style>@import url(https://evil/x.css);</style>",
    ],
)
def test_logos_that_could_run_or_fetch_are_refused(body: str) -> None:
    assert svg_problem(SVG.format(body).encode()) is not None
    assert svg_problem(SVG.format('<rect fill="url(#g)" width="1" height="1"/>').encode()) is None


def test_logos_with_entities_or_not_svg_are_refused() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa">]><svg>&a;</svg>'
    assert svg_problem(bomb) is not None
    assert svg_problem(b"<html></html>") is not None
    assert svg_problem(b"not xml") is not None


def test_the_cli_refuses_with_exit_2_and_writes_nothing(kit: Kit, tmp_path: Path) -> None:
    out = tmp_path / "out"
    for args in (
        ["--name", "../../etc", "--base-url", "https://a.example"],
        ["--name", "acme", "--base-url", "https://a.example/</script>"],
    ):
        done = run_kit(kit.gateway, *args, "--out", str(out))
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith("gatewayz: --") and "Traceback" not in done.stderr
        assert not out.exists()
    evil = tmp_path / "evil.svg"
    evil.write_text(SVG.format("<script>alert(1)</script>"))
    done = run_kit(
        kit.gateway,
        *("--name", "acme", "--base-url", "https://a.example", "--logo", str(evil)),
        *("--out", str(out)),
    )
    assert done.returncode == 2 and "<script> is not accepted" in done.stderr
    assert not out.exists()
    assert os.listdir(tmp_path) == ["evil.svg"]
