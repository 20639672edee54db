"""The import's Markdown: rendered and sanitized in a pool of worker processes, with the text to index.

Each post's HTML is rendered once, in a worker; the worker also returns the post's plain text
(``search.documents.html_to_text`` of that HTML), so the importing process does not parse the
HTML again to build the search documents.  For a plain paragraph with nothing to link, the text
is the input's words, read without any HTML.
"""
from __future__ import annotations

import re
from collections.abc import Callable

from ...markup import markdown_escapes, may_linkify, render_markdown, sanitize_markdown_output
from ...search.documents import html_to_text

#: A post's rendering: its HTML and its indexed text, or ``None`` where the HTML was given.
Rendered = tuple[str, str] | None

#: Anything Markdown or HTML might act on sends a text to the full renderer ("!" only as
#: an image's "![").  What the linkifier acts on is asked of it (``markup.may_linkify``).
#: A ">" inside a line is text (escaped as "&gt;", as both Markdown and the sanitizer write it);
#: only at a line's start is it a quote.  An "_" is emphasis to Markdown only as a delimiter, and
#: its "_" delimiter ("smart": ``inlinepatterns``' ``xstart``/``xend``) must have no word
#: character on one side: one between two word characters (``snake_case``, ``E_0027``) is text.
#: A "#" is a heading and a "~" a fence only at a line's start; a "\\" is an escape only before
#: a character of Markdown's ``ESCAPED_CHARS``.
#: A "[" or "]" is a link only with "](" (inline), "][" or "] [" (a reference) or "]:" (a
#: definition): without a definition every reference is undefined and stays text.  Several
#: scans, each cheap on its own: one alternation of them all tried every branch at every
#: character (half of the plain path's time).
_NOT_PLAIN = (
    re.compile(r"[<&*`|\x00-\x08\x0b-\x1f\x7f\t]|!\["),  # a syntax or control character, "![", a tab
    # a list, quote, underline, heading or fence at a line's start
    re.compile(r"^\s*(?:[-+=>#~]|\d+[.)])", re.MULTILINE),
    # a backslash escaping what Markdown escapes (its own list: the tables extension adds "|"), or
    # one at a line's end; any other backslash is text ("$P \\ne NP$")
    re.compile(r"\\(?:[" + re.escape("".join(markdown_escapes())) + r"]|$)", re.MULTILINE),
    re.compile(r"\n(?:(?<=[^\S\n]\n)|\s*\n\s*\n)"),  # white space before a newline; two blank lines
    # an underscore that may be an emphasis delimiter (no word character before it, or none after):
    # the "_" first, so that the engine looks for it, not tries the look-behind at every character
    re.compile(r"_(?:(?<!\w_)|(?!\w))"),
    re.compile(r"\]\s*[(\[:]"),  # a link's, a reference's or a definition's "]"
)
_SPACE_RE = re.compile(r"\s+")


def _plain_html(text: str) -> str | None:
    """The paragraphs Markdown writes for ``text`` when it has no Markdown, HTML or list syntax
    (before the sanitizer), else ``None``."""
    if text != text.strip() or any(pattern.search(text) for pattern in _NOT_PLAIN):
        return None
    paragraphs = []
    for paragraph in text.strip().split("\n\n"):
        lines = paragraph.split("\n")
        if not all(line and line == line.strip() for line in lines):
            return None  # indentation, trailing spaces, blank-ish lines
        paragraphs.append("<p>" + "\n".join(lines).replace(">", "&gt;") + "</p>")
    return "\n".join(paragraphs)


def render_body(text: str) -> str:
    """``render_markdown(text)``, with a shortcut for plain paragraphs (the common case).

    Text with no Markdown, HTML or list syntax is paragraphs to Markdown: they are written
    here instead of converted.  When such text holds something the linkifier may link (a URL,
    a domain name: a ninth of the benchmark corpus's posts), those same paragraphs still go
    through the sanitizer and its linkifier, exactly as Markdown's output would (the Markdown
    conversion, ~45% of such a post's rendering, is what is skipped).
    ``tests/forum/test_import.py`` checks that every path agrees with the renderer.
    """
    html = _plain_html(text)
    if html is None:
        return render_markdown(text)
    return sanitize_markdown_output(html) if may_linkify(text) else html


def render_with_text(text: str) -> tuple[str, str]:
    """``(render_body(text), html_to_text(render_body(text)))``.  A plain paragraph with nothing
    to link holds no tag and no entity but the ``&gt;`` written for ">", so its text is its
    words with the spaces squeezed (the test holds both paths to ``html_to_text``)."""
    html = _plain_html(text)
    if html is not None and not may_linkify(text):
        return html, _SPACE_RE.sub(" ", text).strip()
    html = render_markdown(text) if html is None else sanitize_markdown_output(html)
    return html, html_to_text(html)


def render_many(texts: list[str | None]) -> list[Rendered]:
    return [None if text is None else render_with_text(text) for text in texts]


class Renderer:
    """Markdown rendering and sanitizing, in a pool of worker processes for big imports.

    ``submit(texts)`` returns a callable giving the :data:`Rendered` list, so that the next
    batch renders in the workers while this process writes the current one.
    With ``workers <= 1`` or a small batch it renders in this process.
    """

    def __init__(self, workers: int, min_texts: int):
        self.workers = max(1, workers)
        self.min_texts = min_texts
        self._pool = None

    def submit(self, texts: list[str | None]) -> Callable[[], list[Rendered]]:
        todo = sum(1 for t in texts if t is not None)
        if self.workers <= 1 or todo < self.min_texts:
            return lambda: render_many(texts)
        if self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # fork: the workers inherit the loaded renderer and need nothing else of the app.
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("fork"))
        size = -(-len(texts) // (self.workers * 2))
        futures = [self._pool.submit(render_many, texts[i:i + size]) for i in range(0, len(texts), size)]
        return lambda: [item for future in futures for item in future.result()]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
