"""Redaction of text that comes from outside the gateway (an upstream's error body, a
Hub reply) before it reaches a caller or a log line.

``Redactor`` is built once at start-up from the secrets the process holds (each provider's
``api_key``; the Hub token of ``hf sync``) and applies, in order:

1. **Control characters** (C0/C1, DEL, zero-width and bidi formatting, and the JSON or
   Python escapes of control characters) are removed, so a secret split by a stray NUL
   is whole again before the next steps; line breaks become
   spaces once the header-line rule below has seen them, so the result is one line.
2. **Credential-shaped text** the gateway does not know: OpenAI-style ``sk-...`` /
   ``sk-proj-...``, Hugging Face ``hf_...``, this gateway's own ``gz_...`` keys, AWS access
   key ids (``AKIA...``/``ASIA...``), GitHub and Google API keys, JWTs, ``Bearer``/``Basic``
   credentials, passwords in URLs (``//user:pass@``), and the value of any header line,
   JSON field or query parameter named like a credential (``Authorization``,
   ``api-key``/``x-api-key``, ``...token``, ``...secret``, ``password``, ``cookie``).
   Elided forms (``sk-abc...wxyz``, ``hf_****``) are caught too.
3. **Configured secrets, by value**: every run of at least ``MIN_ECHO`` (8) characters
   that occurs anywhere in a configured secret is redacted - the whole secret, a truncated
   one (``sk-abc123...``), its last characters, or the two ends of one whose middle was
   elided (``sk-abc123...9xyz``, each end redacted where it is 8 characters or more).
   Letters match whatever their case (an upstream may lower-case what it echoes). A
   secret shorter than 8 characters is redacted where it appears whole. The URL-encoded
   form of a secret counts as the secret. Eight characters of a random key are already
   ~48 bits of it; shorter runs would start to match ordinary words.

Each redacted span becomes ``[REDACTED]``. ``for_caller`` also bounds the text to
``CALLER_MAX_CHARS``; ``full`` keeps up to ``LOG_MAX_CHARS`` for a DEBUG log line.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import quote

MARK = "[REDACTED]"
MIN_ECHO = 8
MIN_WHOLE = 4
CALLER_MAX_CHARS = 300
LOG_MAX_CHARS = 16 * 1024

# Control and invisible characters, and their JSON or Python escapes in text that was
# not decoded (a raw body): both can split a secret.
_CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]"
    r"|\\u00[01][0-9a-fA-F]|\\u007[fF]|\\x[01][0-9a-fA-F]|\\x7[fF]"
)
_LINE_BREAKS = re.compile(r"[\t\r\n\u2028\u2029]+")
# Cheap tests that let most text (a log line) skip the patterns that cannot match it.
_NAME_HINTS = ("authorization", "key", "token", "secret", "passw", "cookie", "credential")
_SHAPE_HINTS = ("sk-", "hf_", "gz_", "AKIA", "ASIA", "gh", "github_pat_", "AIza", "xox", "eyJ")
_ESCAPE_HINTS = ("\\u00", "\\x")
# ASCII-only lower-casing keeps every index of the text where it was.
_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
# Characters an upstream uses to show an elided or masked credential.
_MASKED = r"[*.\u2026]"
_NAMES = (
    r"[\w-]*(?:authorization|api[-_]?key|access[-_]?key|secret[-_]?key|private[-_]?key"
    r"|subscription[-_]?key|token|secret|password|passwd|cookie|credentials?)"
)
_SHAPES = re.compile(
    "|".join(
        (
            rf"(?<![A-Za-z0-9])sk-(?:[\w-]|{_MASKED}){{4,}}",
            rf"(?<![A-Za-z0-9])hf_(?:[A-Za-z0-9]{{8,}}|[A-Za-z0-9]*{_MASKED}{{3,}}[A-Za-z0-9]*)",
            rf"(?<![A-Za-z0-9])gz_[0-9a-fA-F]{{4,}}(?:_(?:[\w-]|{_MASKED})*)?",
            r"(?<![A-Z0-9])A(?:KIA|SIA)[A-Z0-9]{12,}",
            r"(?<![\w-])(?:ghp|gho|ghu|ghs|ghr|github_pat)_\w{8,}",
            r"(?<![\w-])AIza[\w-]{20,}",
            r"(?<![\w-])xox[abprs]-[\w-]{8,}",
            r"\beyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*",
        )
    )
)
_SCHEME = re.compile(
    r"(?i)\b(bearer\s+)(?!\[REDACTED\])[^\s\"',;}\]]+|\b(basic\s+)[A-Za-z0-9+/=]{8,}"
)
_USERINFO = re.compile(r"(//[^/\s:@\"']*:)[^/\s@\"']+@")
# "Name": "value", 'Name': 'value', name="value" (JSON, a printed dict, a form). A
# backslash is only ever read with the character it escapes: no backtracking blow-up.
_QUOTED_FIELD = re.compile(
    rf"(?i)((?<![\w-])[\"']?{_NAMES}[\"']?\s*[:=]\s*)([\"'])((?:\\.|(?!\2)[^\\])*)\2"
)
# A header line "Name: value" (at the start of a line): the whole value.
_HEADER_LINE = re.compile(rf"(?im)^([ \t]*{_NAMES}[ \t]*:[ \t]*)(\S[^\r\n]*)")
# Name: value or name=value inside a line (a sentence, a query string, a form): the value's
# first word, and the next one too when the first may be a scheme ("Bearer abc").
_INLINE_FIELD = re.compile(
    rf"(?i)(?<![\w-])({_NAMES}\s*[:=]\s*)(?![\"'\s\[])"
    rf"((?:[A-Za-z][\w-]*[ \t]+)?[^\s\"',;|&}}\]]+)"
)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


class Redactor:
    """Redacts the secrets it was given and anything shaped like a credential."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        values: set[str] = set()
        for secret in secrets:
            if secret and len(secret) >= MIN_WHOLE:
                values.update(s.translate(_LOWER) for s in (secret, quote(secret, safe="")))
        self._short = tuple(s for s in values if len(s) < MIN_ECHO)
        # Any run of MIN_ECHO characters of a secret holds one of its aligned blocks of
        # MIN_ECHO // 2: text without any of them holds no echo, and is not scanned.
        half = MIN_ECHO // 2
        self._blocks = tuple(
            {
                s[i : i + half]
                for s in values
                if len(s) >= MIN_ECHO
                for i in range(0, len(s) - half + 1, half)
            }
        )
        # Every MIN_ECHO-character window of every secret: a window of the text found
        # here starts an echo, which then grows while it stays inside one of the secrets.
        self._windows: dict[str, tuple[str, ...]] = {}
        for secret in sorted(values):
            for i in range(len(secret) - MIN_ECHO + 1):
                window = secret[i : i + MIN_ECHO]
                self._windows[window] = (*self._windows.get(window, ()), secret)

    def _echoes(self, text: str) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        i, n = 0, len(text) if any(b in text for b in self._blocks) else 0
        while i <= n - MIN_ECHO:
            owners = self._windows.get(text[i : i + MIN_ECHO])
            if owners is None:
                i += 1
                continue
            end = i + MIN_ECHO
            while end < n and any(text[i : end + 1] in s for s in owners):
                end += 1
            spans.append((i, end))
            i = end
        for secret in (s for s in self._short if s in text):
            spans.extend((m.start(), m.end()) for m in re.finditer(re.escape(secret), text))
        return spans

    def redact(self, text: str) -> str:
        """``text`` redacted and on one line, whatever its length."""
        if not text.isprintable() or any(h in text for h in _ESCAPE_HINTS):
            text = _CONTROL.sub("", text)
        lower = text.lower()
        if any(h in lower for h in _NAME_HINTS):
            text = _QUOTED_FIELD.sub(lambda m: f"{m[1]}{m[2]}{MARK}{m[2]}", text)
            text = _HEADER_LINE.sub(lambda m: m[1] + MARK, text)
            text = _INLINE_FIELD.sub(lambda m: m[1] + MARK, text)
        if "@" in text:
            text = _USERINFO.sub(lambda m: m[1] + MARK + "@", text)
        if "bearer" in lower or "basic" in lower:
            text = _SCHEME.sub(lambda m: (m[1] or m[2]) + MARK, text)
        if any(h in text for h in _SHAPE_HINTS):
            text = _SHAPES.sub(MARK, text)
        spans = _merge(self._echoes(text.translate(_LOWER)))
        if spans:
            out, last = [], 0
            for start, end in spans:
                out += [text[last:start], MARK]
                last = end
            text = "".join(out) + text[last:]
        return text if text.isprintable() else _LINE_BREAKS.sub(" ", text)

    def for_caller(self, text: str, limit: int = CALLER_MAX_CHARS) -> str:
        """What a caller may be shown: redacted, one line, at most ``limit`` characters."""
        shown = " ".join(self.redact(text[:LOG_MAX_CHARS]).split())
        return shown if len(shown) <= limit else shown[: limit - 1].rstrip() + "\u2026"

    def full(self, text: str) -> str:
        """For a DEBUG log line: redacted, one line, at most ``LOG_MAX_CHARS`` read."""
        return self.redact(text[:LOG_MAX_CHARS])


class RedactingFilter(logging.Filter):
    """Redacts whole log records (message, arguments and traceback) before a handler
    writes them: the last line of defence for text that reached a log unredacted."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed call: logging reports it as usual
            return True
        record.msg, record.args = self.redactor.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = "\n".join(
                self.redactor.redact(line) for line in record.exc_text.splitlines()
            )
        return True
