"""Markdown to safe HTML.  The only module that knows the allow-lists.

Rendered HTML is stored beside the Markdown source and served as is, so this
runs on write, never on read.
"""
from __future__ import annotations

import re
from functools import partial

import bleach
import markdown as md
from bleach.linkifier import URL_RE, LinkifyFilter
from markupsafe import Markup

ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "strong", "sub", "sup", "table",
    "tbody", "td", "th", "thead", "tr", "ul", "dl", "dt", "dd",
})
ALLOWED_ATTRIBUTES = {
    "a": ["href", "title", "rel"],
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


_cleaner = bleach.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=ALLOWED_ATTRIBUTES,
    protocols=ALLOWED_PROTOCOLS,
    strip=True,
    strip_comments=True,
    filters=[RemoteImagesAsLinks, partial(LinkifyFilter, callbacks=[_ugc_rel], skip_tags=["pre", "code"])],
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


def render_markdown(text: str) -> str:
    """Render user Markdown (raw HTML escaped), then sanitize the result with bleach.

    bleach is the second line of defence: Markdown itself can still produce
    links and images, whose URL schemes are checked here.
    """
    html = md.markdown(
        text or "",
        extensions=["fenced_code", "tables", "sane_lists", EscapeRawHtml()],
        output_format="html",
    )
    return _cleaner.clean(html)


def may_linkify(text: str) -> bool:
    """Whether the linkifier of :func:`render_markdown` could turn part of ``text`` into a link
    (its own pattern; e-mail addresses are not linked)."""
    return URL_RE.search(text) is not None


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
