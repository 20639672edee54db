"""Shortcuts of ``markup`` that bulk imports rely on.

``render_markdown`` reuses one Markdown instance per thread: it must render exactly as a fresh
instance does, and nothing of one text (reference definitions, stashed code) may reach the next.
``may_linkify`` scans for a necessary part of a URL before running the linkifier's pattern: it
must answer as the pattern does, and the linkifier's windowed pattern must find the pattern's
matches.  Plain paragraphs are sanitized without parsing them: their tokens must be the parser's.
Every output is compared with ``REFERENCE``, the sanitizer as bleach runs it (parsed, the
linkifier's own pattern over whole texts).
"""
import copy
from functools import partial

import threading

import markdown as md
from bleach.linkifier import URL_RE, LinkifyFilter
from hypothesis import given, settings
from hypothesis import strategies as st

from community import markup

TEXTS = [
    "plain paragraph",
    "[site]: https://example.com/a\n\nsee [the site][site]",
    "see [the site][site]",  # the definition above must not carry over
    "```python\nprint('<b>')\n```\n\nafter `code` and <b>raw</b>",
    "| a | b |\n|---|---|\n| 1 | 2 |",
    "1. one\n2. two\n\n* x\n* y",
    "![remote](https://elsewhere.example/x.png) and http://example.org/path",
    "    indented code\n\n> quote *em* **strong**",
    "",
]


def _bleachs_own(cleaner):
    """``cleaner`` with the linkifier's own pattern, bleach's parser and walker."""
    reference = copy.copy(cleaner)
    reference.filters = [partial(f.func, *f.args, **{**f.keywords, "url_re": URL_RE})
                         if isinstance(f, partial) and f.func is LinkifyFilter else f for f in cleaner.filters]
    assert reference.filters != cleaner.filters
    return reference


REFERENCE = _bleachs_own(markup._cleaner)


def fresh(text: str) -> str:
    html = md.markdown(text, extensions=markup._extensions(), output_format="html")
    return REFERENCE.clean(html)


def test_reused_instance_renders_like_a_fresh_one_in_any_order():
    for texts in (TEXTS, list(reversed(TEXTS)), TEXTS * 2):
        assert [markup.render_markdown(t) for t in texts] == [fresh(t) for t in texts]


def test_reference_definitions_do_not_leak_into_the_next_text():
    markup.render_markdown("[site]: https://example.com/a\n\n[x][site]")
    assert "href" not in markup.render_markdown("[x][site]")


def test_each_thread_has_its_own_instance():
    seen = []
    thread = threading.Thread(target=lambda: seen.append(markup._renderer()))
    thread.start()
    thread.join()
    assert seen[0] is not markup._renderer()


def test_mentions_still_link():
    assert 'class="mention"' in markup.render_markdown("hi @alice", mentions=["alice"])
    assert 'class="mention"' not in markup.render_markdown("hi @alice")


LINKY = ["example.com", "see http://a.io/x", "www.example.org.", "e.g. this", "v3.12.4 crashed",
         "end.Next", "mail me: a@b.example", "(foo.bar)", "no url here", "a-b.c", "x .com", "foo. com",
         "ＥＸＡＭＰＬＥ.ＣＯＭ", "straße.de", "K.K", "1.9.9 crashed", "Acme 1.9.9: v2.x", "x_.com", "4.2ſ",
         "a.ſe", "a.Kz", "a._b", "a.٣com", "see\nexample.com", "x\texample.com/a b", "e.g. then example.com",
         "x\xa0example.com", "@ example.com", "@example.com", ".example.com", "e.g.\ne.g. www.a.io", "(x.io)"]


def test_may_linkify_answers_as_the_linkifier_pattern_on_examples():
    for text in LINKY:
        assert markup.may_linkify(text) is (URL_RE.search(text) is not None), text


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abcxyz.-/: @_1ſK\n\t\xa0(")) | st.characters(), max_size=40))
def test_may_linkify_answers_as_the_linkifier_pattern(text):
    assert markup.may_linkify(text) is (URL_RE.search(text) is not None)


@settings(max_examples=600, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abcxyz.-/:? @_1ſK\n\t\xa0()")) | st.characters(), max_size=60))
def test_the_linkifiers_windows_find_the_patterns_matches(text):
    """The linkifier's pattern over the windows finds the matches (spans and groups) it finds
    over the whole text, in order."""
    found = [(m.span(), m.groups()) for m in markup._WindowedUrlPattern.finditer(text)]
    assert found == [(m.span(), m.groups()) for m in URL_RE.finditer(text)]


def test_the_linkifiers_windows_on_examples():
    for text in LINKY + [" ".join(LINKY), "\n".join(LINKY), "a.io b.io\tc.io\nd.io(e.io)f.io", "x.io.y.io"]:
        found = [m.span() for m in markup._WindowedUrlPattern.finditer(text)]
        assert found == [m.span() for m in URL_RE.finditer(text)], text
    assert len(list(markup._WindowedUrlPattern.finditer("a.io b.io\tc.io\nd.io(e.io)f.io"))) == 6  # three in the last window


#: Words of plain paragraphs: URLs and near-URLs, "&gt;" (Markdown's ">"), white space of
#: every kind, and what makes the parser's text differ from the HTML (entities, tags, controls).
PARAGRAPH_WORDS = ["see", "example.com", "http://a.io/x?y=1", "(docs.python.org/3)", "www.test.org.", "v1.2.3",
                   "e.g.", "&gt;", "x&gt;y", "&gt;&gt;", "&amp;", "&lt;", "&", "<b>", "<", ">", "\r", "\x0c",
                   "\x00", "\x01", "\x7f", "\x85", "\xa0", "\u2003", "\ufffe", "\U0001fffe", "\ud800", " ", "\t",
                   "\n", "Café", "ſ.io", "a.Kz", "'", '"', "=", "/"]


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.lists(st.sampled_from(PARAGRAPH_WORDS) | st.text(max_size=3), min_size=0, max_size=8),
                min_size=1, max_size=3), st.sampled_from(["\n", "\n\n", ""]))
def test_plain_paragraph_tokens_are_the_parsers(paragraphs, between):
    """HTML ``_plain_paragraphs`` accepts gives the tokens bleach's parser and walker give, and
    the same sanitized HTML as bleach's own ``clean``; anything else goes to the parser."""
    html = between.join("<p>" + " ".join(words) + "</p>" for words in paragraphs)
    texts = markup._plain_paragraphs(html)
    if texts is not None:
        parsed = list(markup._cleaner.walker(markup._cleaner.parser.parseFragment(html)))
        assert list(markup._ParagraphTokens()(texts)) == parsed
        assert markup._paragraphs_cleaner.clean(html) == REFERENCE.clean(html)
    assert markup.sanitize_markdown_output(html) == REFERENCE.clean(html)


def test_plain_paragraphs_on_examples():
    accepted = ["<p>see example.com</p>", "<p>x &gt; y\nwww.a.io/b</p>\n<p>(c.io)</p>", "<p>a\xa0b.io</p>"]
    refused = ["<p> lead.io</p>", "<p>a.io\n</p>", "<p>a &amp; b.io</p>", "<p>a.io</p><p>b</p>", "<p></p>",
               "<p>a\rb.io</p>", "<p>x > y.io</p>", "<p>a.io</p>\n<p><b>b</b></p>", "<h1>a.io</h1>", "<p>a\x00.io</p>"]
    for html in accepted:
        assert markup._plain_paragraphs(html) is not None, html
        assert markup.sanitize_markdown_output(html) == REFERENCE.clean(html)
    for html in refused:
        assert markup._plain_paragraphs(html) is None, html
        assert markup.sanitize_markdown_output(html) == REFERENCE.clean(html)
    assert markup.sanitize_markdown_output("<p>see example.com</p>") == (
        '<p>see <a href="http://example.com" rel="nofollow ugc">example.com</a></p>')


#: Pieces of Markdown and of text that the sanitizer treats specially (entities, control
#: characters, URLs, raw HTML), joined at random into posts.
PIECES = ["word", "Café", "*", "**", "_", "__", "`", "```", "~~~", "# ", "## ", "###### ", "- ", "* ", "+ ",
          "1. ", "3) ", "> ", ">", "<", "<b>", "</p>", "\n", "\n\n", "    ", "\t", "\r", "\x0c", "\x01", "\x7f",
          "&", "&amp;", "&copy;", "&#123;", "&foo;", "amp;", "copy;", "#", "[", "]", "(", ")", "![", "!",
          "example.com", "http://a.io/x", "v1.9.9", "a@b.example", "\\", "|", "---", "***", "\"", "'",
          "\xa0", "\ufffe", "  \n", ":", "=", "==", "ſ", "é.Kz"]
KEPT = ["some *emphasis* and **strong** words", "# Title\n\nText under it", "- one\n- two\n\n> quoted",
        "    indented code & <tags>\n\nafter", "a `code <b>` span", "x &amp; y, 1 < 2 > 0", "line  \nbreak\n\n---"]
CHANGED = ["<p>&amp;copy;</p>", "<p>&amp;#123;</p>", "<pre>\nx</pre>", "<p>a\x0cb</p>", "<p>a\rb</p>",
           "<p>see example.com</p>", "<p>&foo;</p>", "<p>x > y</p>", "<p>&</p>", "<hr />",
           '<table><tr><td style="text-align: left;">a</td></tr></table>']


def test_markdown_output_the_sanitizer_keeps_skips_it():
    """The examples' Markdown output is returned as it is, and is what the sanitizer writes; the
    HTML the sanitizer would change is refused (each rule of ``_sanitizer_keeps`` is needed)."""
    for text in KEPT:
        html = markup._renderer().convert(text)
        assert markup._sanitizer_keeps(html), text
        assert markup.sanitize_markdown_output(html) == REFERENCE.clean(html) == html
    for html in CHANGED:
        assert REFERENCE.clean(html) != html, html
        assert not markup._sanitizer_keeps(html), html
        assert markup.sanitize_markdown_output(html) == REFERENCE.clean(html)


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(PIECES) | st.text(max_size=3), max_size=30))
def test_skipping_the_sanitizer_gives_its_own_output(pieces):
    """Byte for byte what the sanitizer writes, whatever Markdown wrote (``render_markdown``)."""
    text = "".join(pieces)
    assert markup.render_markdown(text) == fresh(text)
