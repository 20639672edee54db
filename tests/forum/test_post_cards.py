"""Post cards kept by what they show (community/views/post_cards.py): each viewer gets the
controls of their own rights and their own CSRF token, and a change shows on the next request."""
from __future__ import annotations

import re

import pytest

from community.services.forum import threads as forum_threads
from community.services.forum import votes


def card(page: str, post_id: int) -> str:
    return page.split(f'id="post-{post_id}"', 1)[1].split("</article>", 1)[0]


def signed_in(app, user):
    browser = app.test_client()
    assert browser.post("/login", data={"login": user.username, "password": "password123"}).status_code == 302
    return browser


@pytest.fixture()
def scene(app, make):
    asker = make.user("asker", reputation=50)
    helper = make.user("helper", reputation=50)
    thread = make.thread(author=asker, title="Sync stops every night at 2am")
    answer = make.reply(thread, author=helper, body="Turn off sleep while idle.")
    return {"thread": thread, "answer": answer, "asker": asker, "helper": helper,
            "reader": make.user("reader", reputation=50), "newcomer": make.user("newcomer"),
            "moderator": make.user("mod", role="moderator"), "url": f"/threads/{thread.id}/{thread.slug}"}


def test_each_viewer_gets_the_controls_of_their_own_rights_on_the_same_card(app, scene):
    answer = scene["answer"]
    pages = {}
    for _ in range(2):  # the second round is drawn from kept cards
        for name in ("helper", "asker", "reader", "newcomer", "moderator"):
            pages.setdefault(name, []).append(card(signed_in(app, scene[name]).get(scene["url"]).get_data(as_text=True),
                                                   answer.id))
        pages.setdefault("anonymous", []).append(card(app.test_client().get(scene["url"]).get_data(as_text=True),
                                                      answer.id))
    for name, (first, again) in pages.items():
        assert re.sub(r'value="[^"]*" *>', "", first) == re.sub(r'value="[^"]*" *>', "", again), name
    helper, asker, reader, newcomer, mod, anonymous = (pages[n][1] for n in (
        "helper", "asker", "reader", "newcomer", "moderator", "anonymous"))
    assert ">Edit<" in helper and ">Delete<" in helper and "Accept this answer" not in helper
    assert "Accept this answer" in asker and ">Edit<" not in asker
    assert "<summary>Flag</summary>" in reader and ">Edit<" not in reader and "Hide post" not in reader
    assert "<summary>Flag</summary>" not in newcomer and "unlocks" in newcomer  # the refusal, not the menu
    assert "Hide post" in mod and "<summary>Flag</summary>" not in mod
    for page in (anonymous,):
        assert ">Edit<" not in page and "Flag" not in page and "Hide post" not in page and "Accept" not in page


def test_a_kept_card_carries_each_sessions_own_csrf_token(app, scene):
    app.config["WTF_CSRF_ENABLED"] = True
    tokens = {}
    for name in ("reader", "asker"):
        browser = app.test_client()
        login = browser.get("/login").get_data(as_text=True)
        token = login.split('name="csrf_token" value="')[1].split('"')[0]
        browser.post("/login", data={"login": name, "password": "password123", "csrf_token": token})
        page = browser.get(scene["url"]).get_data(as_text=True)
        mine = page.split('<meta name="csrf-token" content="')[1].split('"')[0]
        in_card = set(re.findall(r'name="csrf_token" value="([^"]*)"', card(page, scene["answer"].id)))
        assert in_card == {mine}, name
        tokens[name] = mine
        # The kept card's token works for its own session.
        assert browser.post(f"/posts/{scene['answer'].id}/vote", data={"value": "1", "csrf_token": mine}).status_code == 302
    assert tokens["reader"] != tokens["asker"]


def test_a_change_to_the_post_its_author_or_a_vote_shows_on_the_next_request(app, db, scene):
    answer, helper = scene["answer"], scene["helper"]
    reader, other = signed_in(app, scene["reader"]), signed_in(app, scene["asker"])
    before = card(reader.get(scene["url"]).get_data(as_text=True), answer.id)
    assert 'class="vote up on"' not in before
    votes.set_vote(scene["reader"], answer, 1)
    db.session.commit()
    mine = card(reader.get(scene["url"]).get_data(as_text=True), answer.id)
    theirs = card(other.get(scene["url"]).get_data(as_text=True), answer.id)
    assert 'class="vote up on"' in mine and 'class="vote up on"' not in theirs
    assert '<span class="score" aria-label="score">1</span>' in theirs
    forum_threads.edit_post(helper, answer, "Turn off sleep while idle, then restart the client.")
    helper.reputation_points = 4321
    db.session.commit()
    edited = card(other.get(scene["url"]).get_data(as_text=True), answer.id)
    assert "then restart the client" in edited and "4,322" in edited and "edited" in edited


def test_kept_cards_draw_the_same_page_as_cards_drawn_every_time(app, scene):
    def page(browser):
        html = browser.get(scene["url"]).get_data(as_text=True)
        return re.sub(r'(csrf-token" content="|name="csrf_token" value=")[^"]*"', r'\1"', html)

    for name in ("moderator", "reader", "helper"):
        browser = signed_in(app, scene[name])
        browser.get(scene["url"])  # the "Welcome back" message
        app.config["POST_CARD_CACHE_ENTRIES"] = 0
        drawn = page(browser)
        app.config["POST_CARD_CACHE_ENTRIES"] = 5000
        page(browser)
        assert page(browser) == drawn, name
