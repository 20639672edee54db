"""Snippets: the passage of a text that best matches the query, as plain text or safe HTML.

The highlighted form is built only from HTML-escaped text and ``<mark>``
elements, so it is safe to render whatever the stored text contains.
"""
from __future__ import annotations

from markupsafe import Markup, escape

from .analysis import WORD_RE, may_be_one_of, normalize, openings

WINDOW = 220


def _matches(text: str, terms: set[str]) -> list[tuple[int, int]]:
    """``(start, end)`` of each word of ``text`` whose analyzed form is one of ``terms``.

    The analyzer's own tokens (``WORD_RE``, then :func:`analysis.normalize`, stop words
    out), without building a Whoosh ``Token`` per word: a search page scans up to
    twenty stored texts of 3,000 characters, and the token objects were most of it.
    """
    if not terms or not text:
        return []
    opening = openings(terms)  # words that cannot be one of the terms are not stemmed
    try:
        return [match.span() for match in WORD_RE.finditer(text)
                if may_be_one_of(word := match.group(), opening) and normalize(word) in terms]
    except Exception:
        return []


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


def highlighted(text: str, terms: list[str], size: int = WINDOW,
                spans: list[tuple[int, int]] | None = None) -> Markup:
    """The best-matching passage with matches in ``<mark>``, as safe HTML (``spans``: the
    matches of ``text`` when the caller already has them, from :func:`matches`)."""
    text = text or ""
    spans = _matches(text, set(terms)) if spans is None else spans
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


def matches(text: str, terms: list[str]) -> list[tuple[int, int]]:
    """Where the words of ``terms`` are in ``text`` (for :func:`highlighted`)."""
    return _matches(text or "", set(terms))
