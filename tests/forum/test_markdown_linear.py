"""Rendering Markdown is linear in the body, and happens once, when the body is written.

No timings here (they live in ``bench/markdown_bench.py``): the work is counted as the
number of Python lines executed while rendering (``sys.settrace``), which is deterministic.
Quadratic constructs (each opener scanning to the end of the body) multiply that count by
16 when the body is 4 times longer; linear rendering by about 4.  (Wall-clock figures, before
and after, and the ratio to plain prose: ``bench/markdown_bench.py``.)
"""
from __future__ import annotations

import sys

import markdown
import pytest

from community import markup
from community.markup import render_markdown

#: Openers whose closing bracket, parenthesis or backticks Python-Markdown used to look for
#: up to the end of the body, once per opener.
PATHOLOGICAL = {
    "link destination never closed": "[a](",
    "reference never closed": "[a][",
    "bracket never closed": "[",
    "image never closed": "![",
    "image destination never closed": "![a](",
    "destination with text never closed": "[a](b",
    "nested parentheses never closed": "[a](b(c)",
    "title never closed": '[a](b "',
    "angle destination never closed": "[a](<",
    "code span never closed": "``a`",
    "mixed code spans": "```a``",
    "single backticks": "`a",
    "emphasis never closed": "*a",
    "backslashes": "\\",
    "blockquote markers": "> ",
}
DENSE = "[a](b) `c` *d* "


def steps(text: str) -> int:
    """Python lines executed while rendering ``text``: a deterministic measure of work."""
    count = 0

    def tracer(frame, event, arg):
        nonlocal count
        if event == "line":
            count += 1
        return tracer

    render_markdown(text)  # warm: the first render compiles patterns and builds the parser
    sys.settrace(tracer)
    try:
        render_markdown(text)
    finally:
        sys.settrace(None)
    return count


def body(unit: str, length: int) -> str:
    return (unit * (length // len(unit) + 1))[:length]


@pytest.mark.parametrize("unit", PATHOLOGICAL.values(), ids=PATHOLOGICAL.keys())
def test_pathological_bodies_render_in_linear_work(unit):
    small, large = steps(body(unit, 2_000)), steps(body(unit, 8_000))
    assert large <= 4.6 * small, f"4x the body took {large / small:.1f}x the work"


@pytest.mark.parametrize("unit", PATHOLOGICAL.values(), ids=PATHOLOGICAL.keys())
def test_pathological_bodies_cost_no_more_than_dense_ordinary_markup(unit):
    """The yardstick: a body of the same length that is all links, code and emphasis (each
    opener closes at once).  Unbounded, ``[a](`` alone cost hundreds of times as much."""
    yardstick = steps(body(DENSE, 8_000))
    assert steps(body(unit, 8_000)) <= 1.5 * yardstick


def test_the_bounds_keep_ordinary_links_and_code(app):
    html = render_markdown("See [the guide](https://example.com/guide \"Guide\"), `pip install x`, "
                           "``a ` b``, ![logo](/uploads/logo.png) and [ref][1].\n\n[1]: https://example.com/r")
    assert '<a href="https://example.com/guide" title="Guide" rel="nofollow ugc">the guide</a>' in html
    assert "<code>pip install x</code>" in html and "<code>a ` b</code>" in html
    assert '<img alt="logo" src="/uploads/logo.png">' in html
    assert '<a href="https://example.com/r" rel="nofollow ugc">ref</a>' in html


def test_past_the_bounds_the_text_shows_as_text():
    long_text = "x" * (markup.MAX_INLINE_SCAN + 10)
    html = render_markdown(f"[{long_text}](https://example.com)")
    assert f"[{long_text}](" in html and f">{long_text}</a>" not in html
    assert "<code>" not in render_markdown(f"`{long_text}`")
    deep = "[" * (markup.MAX_BRACKET_DEPTH + 1) + "a" + "]" * (markup.MAX_BRACKET_DEPTH + 1) + "(https://e.example)"
    assert "<a" not in render_markdown(deep)


# -- rendered once, at write time ------------------------------------------------------------

@pytest.fixture()
def conversions(monkeypatch):
    """How many times Markdown is converted (every render goes through ``Markdown.convert``)."""
    calls = []
    original = markdown.Markdown.convert

    def counting(self, source):
        calls.append(len(source))
        return original(self, source)

    monkeypatch.setattr(markdown.Markdown, "convert", counting)
    return calls


def test_pages_that_show_bodies_render_no_markdown(client, make, login, conversions, db):
    from community.services.ideas import exchange
    from community.services.tickets import escalation, workflow

    member = make.user(reputation=100)
    agent = make.user(role="agent")
    thread = make.thread(author=member, body="My **invoice** is missing [see](https://example.com).")
    make.reply(thread, body="Open `Settings`, then *Billing*.")
    idea = exchange.create_idea(member, thread.category, "Offline mode please", "Let me read **offline**.")
    contact = workflow.open_ticket(source="contact", subject="Invoices are missing",
                                   body="Last month's *invoice* is not there.", requester=member)
    escalated = escalation.escalate(thread, agent, note="Customer is **angry**")
    db.session.commit()
    assert conversions, "writing renders"
    conversions.clear()

    login(member)
    for path in (f"/threads/{thread.id}/{thread.slug}", f"/ideas/{idea.id}/{idea.slug}",
                 f"/my/tickets/{contact.id}", f"/posts/{thread.posts[0].id}/revisions"):
        assert client.get(path).status_code == 200, path
    login(agent)
    for ticket in (contact, escalated):
        page = client.get(f"/tickets/{ticket.id}")
        assert page.status_code == 200
    assert "<strong>angry</strong>" in page.get_data(as_text=True)
    assert "<em>invoice</em>" in client.get(f"/tickets/{contact.id}").get_data(as_text=True)
    assert conversions == [], "a page view rendered Markdown"


def test_the_contact_form_stores_the_rendered_body(client, db):
    from community.models import Ticket

    response = client.post("/support/contact", data={
        "name": "Ann", "email": "ann@example.com", "subject": "Invoices are missing",
        "body": "My **invoice** for March is missing from the billing page."})
    assert response.status_code in (302, 303)
    ticket = db.session.query(Ticket).one()
    assert "<strong>invoice</strong>" in ticket.body_html
