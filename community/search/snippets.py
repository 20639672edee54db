"""Snippets: the passage of a text that best matches the query, as plain text or safe HTML.

The highlighted form is built only from HTML-escaped text and ``<mark>``
elements, so it is safe to render whatever the stored text contains.
"""
from __future__ import annotations

from markupsafe import Markup, escape

from .schema import ANALYZER

WINDOW = 220


def _matches(text: str, terms: set[str]) -> list[tuple[int, int]]:
    spans = []
    if not terms or not text:
        return spans
    try:
        for token in ANALYZER(text, chars=True, mode="index", removestops=True):
            if token.text in terms:
                spans.append((token.startchar, token.endchar))
    except Exception:
        return []
    return spans


def _window(text: str, spans: list[tuple[int, int]], size: int) -> tuple[int, int]:
    """Start and end of the ``size``-character window holding the most matches."""
    if len(text) <= size:
        return 0, len(text)
    if not spans:
        return 0, _cut(text, size)
    best_start, best_count, j = spans[0][0], 0, 0
    for i, (start, _end) in enumerate(spans):
        while j < len(spans) and spans[j][1] <= start + size:
            j += 1
        if j - i > best_count:
            best_count, best_start = j - i, start
    # Begin a little before the first match, at a word boundary.
    begin = max(0, best_start - 40)
    if begin:
        space = text.find(" ", begin)
        begin = space + 1 if 0 <= space < best_start else begin
    end = min(len(text), begin + size)
    if end < len(text):
        end = _cut(text, end - begin, begin)
    return begin, end


def _cut(text: str, size: int, begin: int = 0) -> int:
    end = begin + size
    space = text.rfind(" ", begin + size // 2, end)
    return space if space > 0 else end


def plain(text: str, terms: list[str], size: int = WINDOW) -> str:
    """The best-matching passage as plain text (the caller escapes it)."""
    text = text or ""
    begin, end = _window(text, _matches(text, set(terms)), size)
    return ("…" if begin else "") + text[begin:end].strip() + ("…" if end < len(text) else "")


def highlighted(text: str, terms: list[str], size: int = WINDOW) -> Markup:
    """The best-matching passage with matches in ``<mark>``, as safe HTML."""
    text = text or ""
    spans = _matches(text, set(terms))
    begin, end = _window(text, spans, size)
    parts = ["…" if begin else ""]
    cursor = begin
    for start, stop in spans:
        if start < begin or stop > end:
            continue
        parts.append(str(escape(text[cursor:start])))
        parts.append(f"<mark>{escape(text[start:stop])}</mark>")
        cursor = stop
    parts.append(str(escape(text[cursor:end])))
    if end < len(text):
        parts.append("…")
    return Markup("".join(parts).strip())


def highlight_title(title: str, terms: list[str]) -> Markup:
    return highlighted(title, terms, size=max(len(title or ""), 1))


def has_match(text: str, terms: list[str]) -> bool:
    return bool(_matches(text or "", set(terms)))
