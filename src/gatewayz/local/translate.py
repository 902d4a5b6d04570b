"""Rule-based translation with Apertium, for the language pairs installed on the machine.

Apertium is not a Python package: it comes from the operating system (Debian/Ubuntu:
``apt-get install apertium apertium-eng-spa`` gives English<->Spanish). Each installed
direction is a ``.mode`` file; we find them on first use and run ``apertium <direction>``
once per request (~0.2-0.4 s, mostly process start), feeding the text on stdin, with no
shell and no network. Output quality is that of a rule-based system: literal, sometimes
awkward, but it does not make things up.

Unknown words are passed through unmarked (``-u``); words Apertium could not inflect carry
a ``#`` debug mark, which we remove (unless the input itself contains ``#``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from gatewayz.errors import (
    InvalidTaskInput,
    NotServedLocally,
    UpstreamBadResponse,
    UpstreamTimeout,
)
from gatewayz.local._lazy import Lazy

MODE_DIRS = (Path("/usr/share/apertium/modes"), Path("/usr/local/share/apertium/modes"))
TIMEOUT_SECONDS = 30.0
MAX_CHARS = 20_000

# ISO 639-1 -> the ISO 639-3 codes Apertium names its directions with.
ISO3: dict[str, str] = {
    "en": "eng",
    "es": "spa",
    "ca": "cat",
    "fr": "fra",
    "pt": "por",
    "it": "ita",
    "gl": "glg",
    "oc": "oci",
    "eo": "epo",
    "eu": "eus",
    "ro": "ron",
    "nb": "nob",
    "nn": "nno",
    "da": "dan",
    "sv": "swe",
    "is": "isl",
    "cy": "cym",
    "br": "bre",
    "an": "arg",
    "ast": "ast",
}
_MARK = re.compile(r"(?<![\w#])#(?=\w)")


class ApertiumTranslator:
    """Hugging Face's ``translation`` task through the system's Apertium."""

    def __init__(self, mode_dirs: tuple[Path, ...] = MODE_DIRS) -> None:
        self._mode_dirs = mode_dirs
        self._directions: Lazy[frozenset[str]] = Lazy(self._discover)

    def directions(self) -> frozenset[str]:
        """Installed directions, e.g. ``{"eng-spa", "spa-eng"}`` (empty if none)."""
        return self._directions.get()

    def supports(self, src_lang: str, tgt_lang: str) -> bool:
        return f"{language_code(src_lang)}-{language_code(tgt_lang)}" in self.directions()

    def translate(self, text: str, src_lang: str, tgt_lang: str) -> str:
        """The translation of ``text``; src_lang/tgt_lang as "en", "eng", "en_XX" or "eng_Latn"."""
        if not isinstance(text, str):
            raise InvalidTaskInput("inputs must be a string")
        if len(text) > MAX_CHARS:
            raise InvalidTaskInput(f"inputs is longer than {MAX_CHARS} characters")
        if not src_lang or not tgt_lang:
            raise InvalidTaskInput("translation needs parameters.src_lang and tgt_lang")
        direction = f"{language_code(src_lang)}-{language_code(tgt_lang)}"
        available = self.directions()
        if not available:
            raise NotServedLocally(
                "embedded translation needs Apertium, a system package, not a Python one: "
                "apt-get install apertium apertium-eng-spa (Debian/Ubuntu)"
            )
        if direction not in available:
            known = ", ".join(sorted(available)) or "none installed"
            raise InvalidTaskInput(
                f"no local translation model for {src_lang} -> {tgt_lang} (local directions: "
                f"{known}); configure an upstream for this model"
            )
        if not text.strip():
            return ""
        try:
            done = subprocess.run(
                ["apertium", "-u", "-f", "txt", direction],
                input=text,
                capture_output=True,
                text=True,
                timeout=TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise UpstreamTimeout("the local translator took too long") from None
        except OSError:
            raise NotServedLocally("the local translator (apertium) could not be started") from None
        if done.returncode != 0:
            raise UpstreamBadResponse(
                f"the local translator failed (exit status {done.returncode})"
            )
        output = done.stdout.strip()
        # A '#' in the output is Apertium's mark, unless the caller wrote '#' themselves.
        return output if "#" in text else _MARK.sub("", output)

    def _discover(self) -> frozenset[str]:
        if shutil.which("apertium") is None:
            return frozenset()
        found: set[str] = set()
        for folder in self._mode_dirs:
            if folder.is_dir():
                # Variant modes such as spa-eng_US are left out; debug modes have more dashes.
                found.update(p.stem for p in folder.glob("*.mode") if _is_direction(p.stem))
        return frozenset(found)


def language_code(lang: str) -> str:
    """Apertium's code for an HF-style language tag: "en", "en_XX", "eng_Latn" -> "eng"."""
    if not isinstance(lang, str):
        raise InvalidTaskInput("src_lang and tgt_lang must be strings")
    base = re.split(r"[_\-]", lang.strip().lower(), maxsplit=1)[0]
    return ISO3.get(base, base)


def _is_direction(stem: str) -> bool:
    parts = stem.split("-")
    return len(parts) == 2 and all(p.isalpha() for p in parts)
