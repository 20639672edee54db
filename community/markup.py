"""Markdown to safe HTML.  The only module that knows the allow-lists.

Rendered HTML is stored beside the Markdown source and served as is, so this
runs on write, never on read.
"""
from __future__ import annotations

import copy
import re
import threading
import xml.etree.ElementTree as etree
from collections.abc import Iterator
from functools import partial

import bleach
import markdown as md
from bleach.linkifier import URL_RE, LinkifyFilter
from markdown import inlinepatterns
from markupsafe import Markup

ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "strong", "sub", "sup", "table",
    "tbody", "td", "th", "thead", "tr", "ul", "dl", "dt", "dd",
})
ALLOWED_ATTRIBUTES = {
    # class="mention" only: the one class this module writes itself (raw HTML is escaped anyway)
    "a": lambda tag, name, value: name in ("href", "title", "rel") or (name == "class" and value == "mention"),
    "abbr": ["title"],
    "img": ["src", "alt", "title", "width", "height"],
    "code": ["class"],
    "th": ["align"],
    "td": ["align"],
}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
MENTION_RE = re.compile(r"(?<![\w@/])@([A-Za-z0-9_][A-Za-z0-9_.-]{1,38}[A-Za-z0-9_])")


def _ugc_rel(attrs, new=False):
    """Every link in user content gets rel="nofollow ugc"; drop links without a safe href."""
    href_key = (None, "href")
    if href_key not in attrs:
        return attrs
    attrs[(None, "rel")] = "nofollow ugc"
    return attrs


#: Images are shown only from this site's own uploads; a remote image becomes a link,
#: so that no reader's browser fetches a third party's tracking pixel.
LOCAL_IMAGE_PREFIX = "/uploads/"


class RemoteImagesAsLinks(bleach.html5lib_shim.Filter):
    """After sanitizing: ``<img src="https://elsewhere/x.png" alt="x">`` → a link named after the image."""

    def __iter__(self):
        in_link = 0
        for token in super().__iter__():
            if token.get("name") == "a" and token["type"] in ("StartTag", "EndTag"):
                in_link += 1 if token["type"] == "StartTag" else -1
            if token["type"] not in ("EmptyTag", "StartTag") or token["name"] != "img":
                yield token
                continue
            attrs = token["data"]
            src = attrs.get((None, "src"), "")
            if src.startswith(LOCAL_IMAGE_PREFIX) and not src.startswith(LOCAL_IMAGE_PREFIX + "/"):
                yield token
                continue
            label = "Image: " + (attrs.get((None, "alt")) or attrs.get((None, "title")) or "external")
            if not src or in_link:  # a link in a link is no HTML: the outer link stays
                yield {"type": "Characters", "data": f"[{label}]"}
                continue
            yield {"type": "StartTag", "name": "a", "data": {(None, "href"): src, (None, "rel"): "nofollow ugc",
                                                              (None, "title"): "Opens an image on another site"}}
            yield {"type": "Characters", "data": f"{label} ↗"}
            yield {"type": "EndTag", "name": "a"}


#: What every match of the linkifier's pattern holds: a name character, a dot and the first
#: letter of a top-level domain (``example.com``, ``http://a.io``).  Scanning for it is a
#: fraction of the cost of the pattern itself, which tries hundreds of domains at each word.
#: A letter, not any word character: every top-level domain begins with one, so version
#: numbers ("1.9.9", in a fifth of the benchmark corpus's posts) no longer run the pattern.
_MAYBE_URL = re.compile(r"[\w-]\.[^\W\d_]")


def _url_windows(text: str) -> Iterator[tuple[int, int]]:
    """The spans of ``text`` the linkifier's pattern can match in: each word (between the spaces,
    newlines or tabs around it) holding a candidate, in order, each once.

    A match holds no white space (none of its parts takes any) and holds a candidate, so every
    match lies in such a window, and the pattern sees the window's ends as the white space they
    are (its look-behind reads the character before; a look-ahead at the end sees the end, which,
    like white space, is neither a word character nor a dot)."""
    end = -1
    for candidate in _MAYBE_URL.finditer(text):
        at = candidate.start()
        if at < end:
            continue  # in the window just given
        start = max(text.rfind(" ", 0, at), text.rfind("\n", 0, at), text.rfind("\t", 0, at)) + 1
        ends = [found for found in (text.find(" ", at), text.find("\n", at), text.find("\t", at)) if found != -1]
        end = min(ends) if ends else len(text)
        yield start, end


def may_linkify(text: str) -> bool:
    """Whether the linkifier of :func:`render_markdown` could turn part of ``text`` into a link
    (its own pattern; e-mail addresses are not linked): the pattern runs only over the windows
    of :func:`_url_windows`, not over the whole text."""
    return any(URL_RE.search(text, start, end) is not None for start, end in _url_windows(text))


class _WindowedUrlPattern:
    """The linkifier's pattern for ``LinkifyFilter``, which only calls ``finditer``: the same
    matches as ``URL_RE.finditer(text)`` (the windows hold every match, in order), found by
    running the pattern over :func:`_url_windows` only.  Over the whole text the pattern, hundreds
    of domain names tried at every word, was most of the linkifier's time."""

    pattern = URL_RE.pattern
    flags = URL_RE.flags

    @staticmethod
    def finditer(text: str) -> Iterator[re.Match]:
        for start, end in _url_windows(text):
            yield from URL_RE.finditer(text, start, end)


_cleaner = bleach.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=ALLOWED_ATTRIBUTES,
    protocols=ALLOWED_PROTOCOLS,
    strip=True,
    strip_comments=True,
    filters=[RemoteImagesAsLinks, partial(LinkifyFilter, callbacks=[_ugc_rel], skip_tags=["pre", "code"],
                                          url_re=_WindowedUrlPattern)],
)


class EscapeRawHtml(md.extensions.Extension):
    """Treat raw HTML in the source as text, so ``<b>`` shows as ``<b>``.

    Customers paste error messages and config snippets full of angle
    brackets; showing them literally is what they meant, and it means no
    author-written tag or attribute ever reaches the page.  Python-Markdown
    documents this as the replacement for its removed ``safe_mode``.
    """

    def extendMarkdown(self, md_instance):  # noqa: N802 (Markdown's API)
        md_instance.preprocessors.deregister("html_block")
        md_instance.inlinePatterns.deregister("html")


#: How far the link, image, reference and code-span parsers look ahead for their closing
#: bracket, parenthesis or backticks.  Python-Markdown scans to the end of the paragraph for
#: each opener, so ``[a](`` or ``[`` or ````a``` repeated took time quadratic in the body
#: (a 30,000-character ``[a](`` body: 18 s).  Bounded, each opener costs at most this many
#: steps, and rendering is linear.  A link text, destination or inline code span longer than
#: this is shown as text (a fenced block holds long code).
MAX_INLINE_SCAN = 500
#: Nesting of ``[`` in a link text, and of ``(`` in a destination, beyond these is no link
#: (``[[[[...``, ``[a](b(c(d(...``): it would make each opener walk the whole window.
MAX_BRACKET_DEPTH = 4
MAX_PAREN_DEPTH = 8
_PARENS = re.compile(r"[()]")
_BACKTICKS = re.compile(r"`+")


class _BoundedLinkParts:
    """``getText``/``getLink`` of Python-Markdown's link processors, over a bounded window."""

    def getText(self, data: str, index: int):  # noqa: N802 (Markdown's API)
        depth, pos, end = 1, index, min(len(data), index + MAX_INLINE_SCAN)
        while pos < end:
            char = data[pos]
            if char == "]":
                depth -= 1
                if depth == 0:
                    return data[index:pos], pos + 1, True
            elif char == "[":
                depth += 1
                if depth > MAX_BRACKET_DEPTH:
                    break
            pos += 1
        return "", index, False

    def getLink(self, data: str, index: int):  # noqa: N802
        window = data[index:index + MAX_INLINE_SCAN]
        if not _closes(window):  # decided by a regex, before Markdown's character-by-character walk
            return "", None, index, False
        href, title, end, handled = super().getLink(window, 0)
        return href, title, index + end, handled


def _closes(window: str) -> bool:
    """Whether the ``(`` that ``window`` starts with is closed, nesting at most MAX_PAREN_DEPTH."""
    depth = 0
    for match in _PARENS.finditer(window):
        depth += 1 if match.group() == "(" else -1
        if depth == 0:
            return True
        if depth > MAX_PAREN_DEPTH:
            return False
    return False


class _BoundedReferenceId:
    def evalId(self, data: str, index: int, text: str):  # noqa: N802
        match = self.RE_LINK.match(data, index, index + MAX_INLINE_SCAN)
        if not match:
            return None, index, False
        return match.group(1).lower() or text.lower(), match.end(0), True


class _BoundedBacktick(inlinepatterns.BacktickInlineProcessor):
    def find_code_spans(self, start: int, text: str):
        window = text[start:start + MAX_INLINE_SCAN]
        if start + MAX_INLINE_SCAN < len(text):
            window = window.rstrip("`")  # a run cut by the window's end is no run of its length
        ticks = len(_BACKTICKS.match(window).group()) if window else 0
        if not ticks:
            return start + 1, None
        # Markdown pairs the opening run with the first run of as many backticks, else with the
        # longest shorter run; with neither in the window (a regex tells), it would walk it all.
        if not any(len(run.group()) <= ticks for run in _BACKTICKS.finditer(window, ticks)):
            return start + ticks, None
        begin, end = super().find_code_spans(0, window)
        return start + begin, (start + end if end is not None else None)


def _bounded(base, *parts):
    return type("Bounded" + base.__name__, (*parts, base), {})


_BOUNDED_PROCESSORS = {  # name: (class, pattern, priority), as Python-Markdown registers them
    "backtick": (_BoundedBacktick, inlinepatterns.BACKTICK_RE, 190),
    "reference": (_bounded(inlinepatterns.ReferenceInlineProcessor, _BoundedReferenceId, _BoundedLinkParts),
                  inlinepatterns.REFERENCE_RE, 170),
    "link": (_bounded(inlinepatterns.LinkInlineProcessor, _BoundedLinkParts), inlinepatterns.LINK_RE, 160),
    "image_link": (_bounded(inlinepatterns.ImageInlineProcessor, _BoundedLinkParts),
                   inlinepatterns.IMAGE_LINK_RE, 150),
    "image_reference": (_bounded(inlinepatterns.ImageReferenceInlineProcessor, _BoundedReferenceId,
                                 _BoundedLinkParts), inlinepatterns.IMAGE_REFERENCE_RE, 140),
    "short_reference": (_bounded(inlinepatterns.ShortReferenceInlineProcessor, _BoundedLinkParts),
                        inlinepatterns.REFERENCE_RE, 130),
    "short_image_ref": (_bounded(inlinepatterns.ShortImageReferenceInlineProcessor, _BoundedLinkParts),
                        inlinepatterns.IMAGE_REFERENCE_RE, 125),
}


class BoundedInlineScans(md.extensions.Extension):
    """Replace the inline processors whose look-ahead is unbounded with bounded ones."""

    def extendMarkdown(self, md_instance):  # noqa: N802
        for name, (cls, pattern, priority) in _BOUNDED_PROCESSORS.items():
            assert name in md_instance.inlinePatterns, name  # a Markdown upgrade renamed it: look again
            processor = cls(pattern) if name == "backtick" else cls(pattern, md_instance)
            md_instance.inlinePatterns.register(processor, name, priority)


class _MentionLinks(inlinepatterns.InlineProcessor):
    """``@name`` outside code as a link to the profile, for the names the caller knows exist."""

    def __init__(self, pattern, names):
        super().__init__(pattern)
        self.names = names

    def handleMatch(self, m, data):  # noqa: N802 (Markdown's API)
        username = self.names.get(m.group(1).lower())
        if username is None:
            return None, None, None
        link = etree.Element("a", {"href": f"/users/{username}", "class": "mention"})
        link.text = f"@{m.group(1)}"
        return link, m.start(0), m.end(0)


class MentionLinks(md.extensions.Extension):
    """Registered below code spans and links: Markdown stashes code first, so ``@x`` in code stays text."""

    def __init__(self, names):
        super().__init__()
        self.names = {name.lower(): name for name in names}

    def extendMarkdown(self, md_instance):  # noqa: N802
        md_instance.inlinePatterns.register(_MentionLinks(MENTION_RE.pattern, self.names), "mention", 25)


def _extensions() -> list:
    return ["fenced_code", "tables", "sane_lists", EscapeRawHtml(), BoundedInlineScans()]


_local = threading.local()


def _renderer() -> md.Markdown:
    """This thread's Markdown instance without mentions, reset before each use.

    Building one (loading and registering every extension's processors) cost more
    than converting a typical post: half of the rendering time of a bulk import.
    Python-Markdown documents ``reset()`` as the way to reuse an instance; one per
    thread because an instance holds the state of the conversion in progress.
    """
    renderer = getattr(_local, "markdown", None)
    if renderer is None:
        renderer = _local.markdown = md.Markdown(extensions=_extensions(), output_format="html")
    return renderer.reset()


def markdown_escapes() -> list[str]:
    """The characters a backslash escapes in :func:`render_markdown`'s Markdown (its extensions' too)."""
    return list(_renderer().ESCAPED_CHARS)


def render_markdown(text: str, mentions=()) -> str:
    """Render user Markdown (raw HTML escaped), then sanitize the result with bleach.

    bleach is the second line of defence: Markdown itself can still produce
    links and images, whose URL schemes are checked here.  ``mentions``: usernames
    (existing accounts, looked up by the caller) whose ``@name`` becomes a profile link.
    """
    if mentions:
        html = md.markdown(text or "", extensions=_extensions() + [MentionLinks(mentions)],
                           output_format="html")
    else:
        html = _renderer().convert(text or "")
    return sanitize_markdown_output(html)


def sanitize_markdown_output(html: str) -> str:
    """The second half of :func:`render_markdown`: sanitize and linkify what Markdown wrote
    (the importer's plain-paragraph path gives it the HTML Markdown would have written).

    HTML that the sanitizer gives back byte for byte (:func:`_sanitizer_keeps`: a fifth of a
    bulk import's posts, emphasis and headings and lists without a link) is returned as it is:
    parsing and serializing it again was half of a Markdown worker's time."""
    if _sanitizer_keeps(html):
        return html
    return _paragraphs_cleaner.clean(html) if _plain_paragraphs(html) is not None else _cleaner.clean(html)


#: The tags Markdown writes that the sanitizer keeps as they are written: allowed, no attribute
#: (``<pre>`` only before ``<code>``: the parser drops a newline right after ``<pre>``).
_KEPT_TAG = re.compile(r"<pre><code>|</code></pre>|</?(?:p|em|strong|code|blockquote|h[1-6]|ul|ol|li)>|<[hb]r>")
#: What the sanitizer may write otherwise, once those tags are blanked out: a "<" or ">" of the
#: text's own, control characters (some become "?", a carriage return a newline), any "&" but
#: ``&lt;``, ``&gt;`` and an ``&amp;`` not followed by a name or "#" (the serializer turns
#: ``&amp;copy;`` into ``&copy;``); and, to be safe, DEL, C1 controls, noncharacters and lone
#: surrogates (kept by the sanitizer today, but the parser reports them).
_CHANGED_TEXT = re.compile(
    r"[<>\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]|&(?!amp;(?![#\w])|lt;|gt;)")


def _sanitizer_keeps(html: str) -> bool:
    """Whether ``_cleaner.clean(html) == html`` is certain for HTML that Markdown wrote (well
    nested, block elements in blocks only: what makes the parser's tree the same): the kept tags
    only, text with nothing the serializer writes otherwise, and nothing the linkifier could link
    (its pattern matches in no text node when it matches nowhere in the whole string: tags
    meet it only with "<" and ">", which it treats as the ends of a string).  False is always
    safe: the sanitizer runs.  ``tests/forum/test_markdown_speedups.py`` holds it to the
    sanitizer over generated Markdown."""
    return _CHANGED_TEXT.search(_KEPT_TAG.sub(" ", html)) is None and not may_linkify(html)


#: What a paragraph's text may not hold for the parser to give it back as one text node as it is
#: (looked for once every ``&gt;`` is taken out): a tag or any other entity, the control
#: characters, noncharacters and surrogates that ``_CHANGED_TEXT`` keeps out.
_NOT_PARAGRAPH_TEXT = re.compile(r"[<>&\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")
#: html5lib's space characters: at a text's ends they become a token of their own.
_HTML_SPACES = "\t\n\x0c\r "


def _plain_paragraphs(html: str) -> list[str] | None:
    """The texts of ``html`` when it is only paragraphs of plain text, as Markdown writes them
    for plain paragraphs (``<p>text</p>`` joined by newlines; the text holding no tag, no entity
    but ``&gt;``, no white space at its ends, nothing ``_NOT_PARAGRAPH_TEXT`` finds), else ``None``."""
    if not (html.startswith("<p>") and html.endswith("</p>")):
        return None
    texts = html[3:-4].split("</p>\n<p>")
    for text in texts:
        if (not text or text[0] in _HTML_SPACES or text[-1] in _HTML_SPACES
                or _NOT_PARAGRAPH_TEXT.search(text.replace("&gt;", "")) is not None):
            return None
    return texts


class _ParagraphTokens:
    """``Cleaner.parser`` and ``Cleaner.walker`` for HTML that :func:`_plain_paragraphs` accepts:
    the tokens the etree walker gives for the parser's tree of it, made from the texts directly.
    Such HTML holds no markup but its ``<p>`` tags and its ``&gt;`` (kept as text: the cleaner's
    tokenizer leaves entities alone), so the tree is the paragraphs with their texts as written.
    Parsing was about half of sanitizing a plain post with a link; everything after it (the
    sanitizer's filter, the linkifier, the serializer) is bleach's own ``clean``.
    ``tests/forum/test_markdown_speedups.py`` holds the tokens to the walker's."""

    @staticmethod
    def parseFragment(html: str) -> list[str]:  # noqa: N802 (html5lib's API)
        return _plain_paragraphs(html)

    def __call__(self, texts: list[str]) -> Iterator[dict]:
        for number, text in enumerate(texts):
            if number:
                yield {"type": "SpaceCharacters", "data": "\n"}
            yield {"type": "StartTag", "name": "p", "namespace": None, "data": {}}
            yield {"type": "Characters", "data": text}
            yield {"type": "EndTag", "name": "p", "namespace": None}


_paragraphs_cleaner = copy.copy(_cleaner)
_paragraphs_cleaner.parser = _ParagraphTokens
_paragraphs_cleaner.walker = _ParagraphTokens()


def safe(html: str) -> Markup:
    """Mark stored, already-sanitized HTML safe for templates."""
    return Markup(html or "")


_CODE_RE = re.compile(r"```[\s\S]*?(?:```|\Z)|~~~[\s\S]*?(?:~~~|\Z)|`[^`\n]*`|^(?: {4}|\t)[^\n]*", re.M)


def mentioned_usernames(text: str) -> set[str]:
    """Lower-cased @names in ``text``, ignoring code (a pasted ``@Override`` is no mention)."""
    prose = _CODE_RE.sub(" ", text or "")
    return {m.group(1).lower() for m in MENTION_RE.finditer(prose)}


def sanitize_html(html: str) -> str:
    """Sanitize HTML from elsewhere (imports of other platforms' dumps) with the same allow-lists."""
    return _cleaner.clean(html or "")
