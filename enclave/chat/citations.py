"""Citation markers: `[n]` in an answer refers to the n-th numbered source of the prompt.

References to sources that do not exist are dropped, also while streaming: text that might be the start
of a marker is held back until it is known to be one.
"""

from __future__ import annotations

import re

_MARKER = re.compile(r"\[(\d{1,3})\]")
_PARTIAL = re.compile(r"\[\d{0,3}$")


def cited_indices(text: str, n_sources: int) -> list[int]:
    """Valid markers in order of first appearance."""
    seen: dict[int, None] = {}
    for m in _MARKER.finditer(text):
        i = int(m.group(1))
        if 1 <= i <= n_sources:
            seen.setdefault(i, None)
    return list(seen)


def strip_invalid(text: str, n_sources: int) -> str:
    return _MARKER.sub(lambda m: m.group(0) if 1 <= int(m.group(1)) <= n_sources else "", text)


class CitationFilter:
    """Feeds streamed text through, removing markers that point at no source."""

    def __init__(self, n_sources: int) -> None:
        self.n = n_sources
        self._held = ""

    def feed(self, text: str) -> str:
        buf = self._held + text
        self._held = ""
        tail = _PARTIAL.search(buf)
        if tail:
            self._held, buf = buf[tail.start() :], buf[: tail.start()]
        return strip_invalid(buf, self.n)

    def flush(self) -> str:
        out, self._held = self._held, ""
        return strip_invalid(out, self.n)
