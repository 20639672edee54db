"""Markdown is rendered, sanitized once on write, and stored; nothing executable survives."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from community.markup import mentioned_usernames, render_markdown

VECTORS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<iframe src=javascript:alert(1)></iframe>",
    "<a href=\"javascript:alert(1)\">click</a>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](  javascript:alert(1))",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "![x](javascript:alert(1))",
    "[ref]\n\n[ref]: javascript:alert(1)",
    "<div style=\"background:url(javascript:alert(1))\">x</div>",
    "<p onmouseover=alert(1)>hover</p>",
    "[x](http://example.com \"title\\\" onmouseover=\\\"alert(1)\")",
    "<<script>script>alert(1)<</script>/script>",
    "<math><mi xlink:href=\"javascript:alert(1)\">x</mi></math>",
    "<form action=javascript:alert(1)><button>go</button></form>",
]
SAFE_TAGS = {"a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5",
             "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "strong", "sub", "sup",
             "table", "tbody", "td", "th", "thead", "tr", "ul", "dl", "dt", "dd"}


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.problems = []

    def handle_starttag(self, tag, attrs):
        if tag not in SAFE_TAGS:
            self.problems.append(f"tag <{tag}>")
        for name, value in attrs:
            if name.startswith("on") or name == "style":
                self.problems.append(f"attribute {name}")
            if name in ("href", "src"):
                scheme = re.match(r"\s*([a-z][a-z0-9+.-]*):", value or "", re.I)
                if scheme and scheme.group(1).lower() not in ("http", "https", "mailto"):
                    self.problems.append(f"{name}={value}")


def problems(html: str) -> list[str]:
    collector = _Collector()
    collector.feed(html)
    return collector.problems


@pytest.mark.parametrize("vector", VECTORS)
def test_no_executable_markup_survives(vector):
    html = render_markdown(vector)
    assert problems(html) == [], html


def test_the_checker_itself_catches_vectors():
    assert problems('<p onclick="x"><script></script><a href="javascript:x">a</a></p>') == [
        "attribute onclick", "tag <script>", "href=javascript:x"]


def test_raw_html_is_shown_as_text():
    assert render_markdown("Use <b>bold</b> here") == "<p>Use &lt;b&gt;bold&lt;/b&gt; here</p>"
    assert "&lt;script&gt;" in render_markdown("<script>alert(1)</script>")


def test_links_get_nofollow_ugc_and_autolinks_too():
    assert render_markdown("[docs](https://example.com/a)") == \
        '<p><a href="https://example.com/a" rel="nofollow ugc">docs</a></p>'
    assert 'href="https://example.com" rel="nofollow ugc"' in render_markdown("see https://example.com")
    assert 'rel="nofollow ugc"' in render_markdown("<https://example.com>")


def test_markdown_features_survive_sanitizing():
    html = render_markdown("# Title\n\n*em* **strong** `code`\n\n```\n<b>x</b>\n```\n\n- a\n- b\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n> quote")
    for fragment in ("<h1>Title</h1>", "<em>em</em>", "<strong>strong</strong>", "<code>code</code>",
                     "&lt;b&gt;x&lt;/b&gt;", "<li>a</li>", "<table>", "<td>1</td>", "<blockquote>"):
        assert fragment in html, fragment
    # Images from this site's uploads stay images; remote ones become links (tests/pages/test_remote_images.py).
    assert render_markdown("![chart](/uploads/c0ffee.png)") == '<p><img alt="chart" src="/uploads/c0ffee.png"></p>'


def test_mentions_are_found_but_not_in_emails():
    assert mentioned_usernames("thanks @Carol and @dave.smith, mail bob@example.com") == {"carol", "dave.smith"}


def test_sanitized_html_is_stored_and_served(client, make, db):
    thread = make.thread(body="Crash when I click <img src=x onerror=alert(1)> [here](javascript:alert(2))")
    question = thread.posts[0]
    assert problems(question.body_html) == []
    assert "&lt;img" in question.body_html
    page = client.get(f"/threads/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert question.body_html in page
    assert "<img src=x" not in page and 'href="javascript' not in page
    question.body_html = "<p>STORED-MARKER</p>"   # served as stored, not re-rendered on read
    db.session.commit()
    assert "STORED-MARKER" in client.get(f"/threads/{thread.id}/{thread.slug}").get_data(as_text=True)


def test_thread_title_and_usernames_are_escaped_in_pages(client, make):
    thread = make.thread(title="<script>alert('title')</script> crash")
    page = client.get(f"/threads/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert "<script>alert('title')" not in page
    assert "&lt;script&gt;" in page
    assert "<script>alert" not in client.get("/").get_data(as_text=True)
