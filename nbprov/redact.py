"""Redaction of credentials before anything reaches the journal, the comm or the widget.

The default patterns live in ``redact_patterns.json`` next to this module; the page reads the same
file (``src/core/redact.ts``), and a test feeds the same inputs to both. A match becomes
``[redacted:<kind>]`` (only its group 1 when the pattern has one, so ``password=`` stays readable).

Extra patterns come from ``nbprov.configure(redact=[{"kind": ..., "pattern": ...}])``. A pattern
that does not compile, or that is slow (``SLOW_MS`` per MiB of text beyond Python's own scanning
cost; probed on growing samples before use, then timed in CPU time on every real text and dropped
when slow on two in a row), is reported once and skipped; the defaults stay.
"""

from __future__ import annotations

import json
import re
import time
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

SLOW_MS = 5.0
MIB = 1 << 20
# Probe sizes grow slowly at first: a pattern that explodes on a few dozen characters is caught
# before the next size could stall the kernel; below 200 KiB the budget is 1 ms.
_PROBE_SIZES = (16, 24, 32, 48, 64, 96, 128, 256, 1 << 10, 1 << 12, 1 << 14, 1 << 16, 1 << 18, MIB)
_PROBE_FLOOR_MS = 1.0
_RUN_LENGTHS = (8, 12, 16, 20, 24, 28, 32, 64)
_PROBE_BLOCK = (
    # Runs stay short here: a longer one would be a trigger larger than the step to the next size.
    "aaaaaaaa"
    + " 00000000 the quick brown fox, key=value; x: y\n"
    + "----- \t<b>é</b> [x] (y) {z} 'q' \"w\" ab_cd-ef.gh/ij+kl=mn 1.5e-3 -1 ====\n"
)

_DEFAULTS_FILE = Path(__file__).with_name("redact_patterns.json")


def marker(kind: str) -> str:
    return f"[redacted:{kind}]"


class _Pattern:
    __slots__ = ("kind", "source", "regex", "user", "starts", "slow_before")

    def __init__(self, kind: str, source: str, flags: str, user: bool, starts: tuple[str, ...] = ()) -> None:
        self.kind = kind
        self.source = source
        self.user = user
        self.starts = starts
        self.slow_before = False
        self.regex = re.compile(source, re.ASCII | (re.IGNORECASE if "i" in flags else 0))

    def spans(self, text: str) -> Iterator[tuple[int, int]]:
        """Non-empty spans to replace, left to right, as ``finditer`` would find them."""
        for match in self._matches(text):
            start, end = match.span(1) if match.re.groups and match.start(1) >= 0 else match.span()
            if start < end:
                yield start, end

    def _matches(self, text: str) -> Iterator[re.Match[str]]:
        lowered = text.lower() if self.starts else ""
        if not self.starts or len(lowered) != len(text):
            # (A few non-ASCII letters change length when lowered: positions would not line up.)
            yield from self.regex.finditer(text)
            return
        # Every match begins with one of `starts`: try the pattern only there, leftmost first.
        candidates = sorted({i for literal in self.starts for i in _occurrences(lowered, literal)})
        resume = 0
        for position in candidates:
            if position < resume:
                continue
            match = self.regex.match(text, position)
            if match is not None and match.end() > match.start():
                resume = match.end()
                yield match


def _occurrences(text: str, literal: str) -> Iterator[int]:
    position = text.find(literal)
    while position >= 0:
        yield position
        position = text.find(literal, position + 1)


def _default_specs() -> list[dict[str, str]]:
    return json.loads(_DEFAULTS_FILE.read_text(encoding="utf-8"))["patterns"]


def _sample() -> str:
    return (_PROBE_BLOCK * (MIB // len(_PROBE_BLOCK) + 1))[:MIB]


_scan_ms_per_mib: float | None = None


def _budget_ms(size: int) -> float:
    """What a pattern may take on ``size`` characters: ``SLOW_MS`` per MiB beyond the time Python's
    regex engine needs to scan a text at all with a pattern that has no literal prefix (about as
    much again: JavaScript's engine scans several times faster), measured once. That scan costs
    up to about 1.5 times the measured one for other first items (a case-insensitive literal
    takes 17 ms a MiB where the baseline takes 11 here), so twice the baseline is allowed: a
    harmless pattern is never rejected by chance, and a catastrophic one exceeds any such bound."""
    global _scan_ms_per_mib
    if _scan_ms_per_mib is None:
        _scan_ms_per_mib = min(_cpu_ms(re.compile("(?:\x00\x01|\x02)"), _sample()) for _ in range(3))
    return (SLOW_MS + 2 * _scan_ms_per_mib) * size / MIB


def _probe_texts() -> Iterator[str]:
    """Growing texts: runs of each printable character (where nested quantifiers explode), a few
    characters longer each time, then prefixes of a mixed sample up to 1 MiB."""
    for code in range(0x20, 0x7F):
        for length in _RUN_LENGTHS:
            # The control character after the run makes a match that needs the run's end fail late.
            yield chr(code) * length + "\x01"
    sample = _sample()
    for size in _PROBE_SIZES:
        yield sample[:size]


def _probe_too_slow(regex: re.Pattern[str]) -> float | None:
    """Milliseconds the pattern took on the first probe text that exceeded its budget, else None."""
    for text in _probe_texts():
        budget_ms = max(_PROBE_FLOOR_MS, _budget_ms(len(text)))
        # Slow twice: a pause of the machine alone does not condemn a pattern.
        elapsed_ms = _cpu_ms(regex, text)
        if elapsed_ms > budget_ms and _cpu_ms(regex, text) > budget_ms:
            return elapsed_ms
    return None


def _cpu_ms(regex: re.Pattern[str], text: str) -> float:
    # This thread's CPU time: other processes and threads holding the GIL do not count.
    started = time.thread_time()
    for _ in regex.finditer(text):
        pass
    return (time.thread_time() - started) * 1000


class Redactor:
    """Replaces credential-looking spans; ``redact(text)`` gives the new text and the count."""

    def __init__(self, extra: Iterable[Any] = ()) -> None:
        self.problems: list[str] = []
        self._patterns = [
            _Pattern(s["kind"], s["pattern"], s.get("flags", ""), False, tuple(s.get("starts", ())))
            for s in _default_specs()
        ]
        for index, spec in enumerate(extra):
            pattern = self._user_pattern(index, spec)
            if pattern is not None:
                self._patterns.append(pattern)

    def _user_pattern(self, index: int, spec: Any) -> _Pattern | None:
        if not isinstance(spec, dict) or not isinstance(spec.get("pattern"), str):
            self._problem(f"redact pattern #{index + 1} is not {{'kind': str, 'pattern': str}}: {spec!r}")
            return None
        kind = spec.get("kind", "custom")
        if not isinstance(kind, str) or not re.fullmatch(r"[A-Za-z0-9_.-]{1,40}", kind):
            self._problem(f"redact pattern #{index + 1}: kind must be 1-40 letters, digits, '_', '.', '-': {kind!r}")
            return None
        flags = spec.get("flags", "")
        if flags not in ("", "i"):
            self._problem(f"redact pattern {kind!r}: flags must be '' or 'i', not {flags!r}")
            return None
        try:
            pattern = _Pattern(kind, spec["pattern"], flags, True)
        except re.error as error:
            self._problem(f"redact pattern {kind!r} is not a valid regular expression ({error}); skipped")
            return None
        slow_ms = _probe_too_slow(pattern.regex)
        if slow_ms is not None:
            self._problem(
                f"redact pattern {kind!r} is too slow ({slow_ms:.1f} ms on a short sample; the limit is "
                f"{SLOW_MS:g} ms per MiB); skipped"
            )
            return None
        return pattern

    def _problem(self, message: str) -> None:
        self.problems.append(message)
        warnings.warn(f"nbprov: {message}; the default patterns stay in use", RuntimeWarning, stacklevel=4)

    @property
    def patterns(self) -> list[tuple[str, str]]:
        """(kind, pattern) of every pattern in use, defaults first."""
        return [(p.kind, p.source) for p in self._patterns]

    def redact(self, text: str) -> tuple[str, int]:
        count = 0
        for pattern in list(self._patterns):
            started = time.thread_time() if pattern.user else 0.0
            text, found = _replace(pattern, text)
            count += found
            if pattern.user:
                elapsed_ms = (time.thread_time() - started) * 1000
                slow = elapsed_ms > _budget_ms(max(len(text), MIB))
                # Slow on two texts in a row: one pause of the machine does not condemn a pattern.
                if slow and not pattern.slow_before:
                    pattern.slow_before = True
                elif slow:
                    self._patterns.remove(pattern)
                    self._problem(
                        f"redact pattern {pattern.kind!r} took {elapsed_ms:.1f} ms on {len(text)} characters "
                        f"(limit {SLOW_MS:g} ms per MiB); skipped from now on"
                    )
                else:
                    pattern.slow_before = False
        return text, count

    def redact_value(self, value: Any) -> tuple[Any, int]:
        """``value`` with every string inside (dict values, list items) redacted; dict keys are kept."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict):
            total = 0
            redacted: dict[Any, Any] = {}
            # A git diff kept as base64 (not UTF-8) is bytes in disguise: redacting it would corrupt it.
            opaque = "diff" if value.get("diff_encoding") == "base64" else None
            for key, item in value.items():
                if key == opaque:
                    redacted[key] = item
                    continue
                redacted[key], count = self.redact_value(item)
                total += count
            return (redacted, total) if total else (value, 0)
        if isinstance(value, (list, tuple)):
            total = 0
            items = []
            for item in value:
                new, count = self.redact_value(item)
                items.append(new)
                total += count
            return (items, total) if total else (value, 0)
        return value, 0


def _replace(pattern: _Pattern, text: str) -> tuple[str, int]:
    pieces: list[str] = []
    position = 0
    count = 0
    replacement = marker(pattern.kind)
    for start, end in pattern.spans(text):
        pieces.append(text[position:start])
        pieces.append(replacement)
        position = end
        count += 1
    if not count:
        return text, 0
    pieces.append(text[position:])
    return "".join(pieces), count


TRUNCATION_BACKOFF = 1024
_WHITESPACE = " \t\r\n"


def cut_head(text: str, limit: int) -> str:
    """The first ``limit`` characters of a text that is being truncated, cut back to the last
    whitespace within its last ``TRUNCATION_BACKOFF`` characters: a credential cut in two would
    match no pattern, and credentials hold no whitespace."""
    head = text[:limit]
    if len(text) <= limit or text[limit] in _WHITESPACE:
        return head
    cut = max(head.rfind(c, max(0, limit - TRUNCATION_BACKOFF)) for c in _WHITESPACE)
    return head[: cut + 1] if cut >= 0 else head


_current = Redactor()
# The extra patterns: the user's (``nbprov.configure(redact=...)``) and the JupyterLab page's
# (its ``redact`` setting), kept apart so that neither replaces the other.
_extra: dict[str, list[Any]] = {"user": [], "page": []}


def current() -> Redactor:
    """The redactor in use in this process."""
    return _current


def configure(extra: Iterable[Any], source: str = "user") -> list[str]:
    """Use the defaults plus ``extra`` (and the other source's patterns) from now on; returns the
    problems found (also warned). ``source``: "user" (``nbprov.configure``) or "page" (the
    JupyterLab ``redact`` setting, sent by the page when it loads the extension and when it changes)."""
    global _current
    if isinstance(extra, (str, bytes, dict)):
        raise TypeError("redact= takes a list of {'kind': str, 'pattern': str}")
    if source not in _extra:
        raise ValueError(f"nbprov: unknown source of redaction patterns {source!r}")
    _extra[source] = list(extra)
    _current = Redactor(_extra["user"] + _extra["page"])
    return _current.problems


def redact(text: str) -> tuple[str, int]:
    return _current.redact(text)


def redact_value(value: Any) -> tuple[Any, int]:
    return _current.redact_value(value)
