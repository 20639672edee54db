"""Snippets of the PostgreSQL backend: ``ts_headline`` picks the passage and marks the words.

``ts_headline`` knows what matched (stems, typo corrections, the configuration's
accent folding), so the passage and the marks are the database's.  It returns
text, not HTML: the marks are two control characters (removed from the stored
text first; ``<``, ``>`` and ``&`` go in as stand-ins that its parser reads as no
markup), the text is HTML-escaped here and only then are they turned into
``<mark>`` elements, so the result is safe whatever the stored text holds.
"""
from __future__ import annotations

from markupsafe import Markup, escape

from .postgres_schema import CONFIG

START, STOP = "\x02", "\x03"
#: ``ts_headline``'s parser takes ``<b>`` or ``&amp;`` in the text for markup and leaves it out:
#: the stored text is plain (a pasted ``<dependency>`` is text), so these go in as stand-ins.
_STAND_INS = str.maketrans({"\x04": "<", "\x05": ">", "\x06": "&"})
#: About the 220 characters of ``snippets.WINDOW``; one fragment, as the Whoosh backend shows.
OPTIONS = f"StartSel={START}, StopSel={STOP}, MaxWords=35, MinWords=20, ShortWord=2, MaxFragments=0"
TITLE_OPTIONS = f"StartSel={START}, StopSel={STOP}, HighlightAll=true"


def sql(column: str, query: str = "q", *, title: bool = False) -> str:
    """The SQL of the headline of ``column`` for the tsquery ``query``."""
    options = TITLE_OPTIONS if title else OPTIONS
    return (f"ts_headline('{CONFIG}', translate({column}, E'<>&\\x02\\x03', E'\\x04\\x05\\x06'), {query},"
            f" '{options}')")


def marked(headline: str | None) -> bool:
    return bool(headline) and START in headline


def plain(headline: str | None, source: str | None) -> str:
    """The passage as plain text (the caller escapes it), with "…" where the text goes on."""
    text = (headline or "").translate(_STAND_INS).replace(START, "").replace(STOP, "").strip()
    return _ellipses(text, text, source or "")


def html(headline: str | None, source: str | None) -> Markup:
    """The passage as safe HTML: escaped text and ``<mark>`` around the matched words."""
    text = (headline or "").translate(_STAND_INS).strip()
    passage = text.replace(START, "").replace(STOP, "")
    escaped = str(escape(text)).replace(START, "<mark>").replace(STOP, "</mark>")
    if escaped.count("<mark>") != escaped.count("</mark>"):  # never seen: then no marks at all
        escaped = str(escape(passage))
    return Markup(_ellipses(escaped, passage, source or ""))


def _ellipses(shown: str, passage: str, source: str) -> str:
    source = source.translate({2: None, 3: None}).strip()
    begins = not passage or source.startswith(passage)
    ends = not passage or source.endswith(passage)
    return ("" if begins else "…") + shown + ("" if ends else "…")
