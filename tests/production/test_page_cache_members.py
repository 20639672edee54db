"""Members' whole pages kept for them alone (community/page_cache_members.py): never another
visitor's page, a write visible on the next request, the request's own CSRF token.

Runs with the in-process store and with Redis, as tests/production/test_page_cache.py.
"""
from __future__ import annotations

import re
from datetime import date, timedelta

from community.extensions import db as _db
from community.page_cache_members import TOKEN_MARK
from community.services import notifications
from community.services.forum import view_counts
from tests.production.test_page_cache import Statements, app, _suite_app_factory, thread, url_of  # noqa: F401

_TOKEN = re.compile(r'name="csrf_token" value="([^"]*)"')


def _signed_in(app, make, name, **kwargs):
    member = make.user(name, **kwargs)
    browser = app.test_client()
    assert browser.post("/login", data={"login": name, "password": "password123"}).status_code == 302
    return member, browser


def _header(page: str) -> str:
    return page.split("</header>")[0]


def test_a_members_second_visit_is_their_kept_page_with_fewer_statements(app, make, thread):  # noqa: F811
    app.config["VIEW_COUNT_FLUSH_SECONDS"] = 3600
    _, browser = _signed_in(app, make, "erin")
    browser.get(url_of(thread))  # the session's first page mints its CSRF token: drawn, not kept
    with Statements(_db.engine) as drawn:
        first = browser.get(url_of(thread))
    with Statements(_db.engine) as kept:
        again = browser.get(url_of(thread))
    assert first.status_code == again.status_code == 200
    assert again.headers["Cache-Control"].startswith("private")
    strip = lambda page: _TOKEN.sub("", page.get_data(as_text=True)).split('<meta name="csrf-token"')[0]  # noqa: E731
    assert strip(again) == strip(first) and "erin" in _header(again.get_data(as_text=True))
    assert kept.count < drawn.count, (kept.statements, drawn.statements)
    assert not any("posts" in s for s in kept.statements), kept.statements  # the page was not drawn


def test_members_never_see_each_others_kept_pages(app, make, thread):  # noqa: F811
    pages = {}
    for name in ("alice", "bob"):
        _, browser = _signed_in(app, make, name)
        pages[name] = [browser.get(url_of(thread)).get_data(as_text=True) for _ in range(2)]
    for name, other in (("alice", "bob"), ("bob", "alice")):
        for page in pages[name]:
            assert name in _header(page) and other not in _header(page)
    anonymous = app.test_client().get(url_of(thread)).get_data(as_text=True)
    assert "alice" not in _header(anonymous) and "bob" not in _header(anonymous) and "Log in" in anonymous


def test_a_kept_page_carries_the_requests_own_csrf_token_and_its_forms_work(app, make, thread):  # noqa: F811
    app.config["WTF_CSRF_ENABLED"] = True
    make.user("voter-one", reputation=50)
    browsers = []
    for _ in range(2):  # the same member in two browsers: two sessions, two tokens
        browser = app.test_client()
        token = _TOKEN.search(browser.get("/login").get_data(as_text=True)).group(1)
        browser.post("/login", data={"login": "voter-one", "password": "password123", "csrf_token": token})
        browsers.append(browser)
    answer = thread.posts[-1]
    for browser in browsers:
        browser.get(url_of(thread))
    for browser in browsers:
        page = browser.get(url_of(thread)).get_data(as_text=True)  # kept
        tokens = set(_TOKEN.findall(page)) | set(re.findall(r'<meta name="csrf-token" content="([^"]*)"', page))
        assert len(tokens) == 1 and "" not in tokens and TOKEN_MARK not in page
        assert browser.post(f"/posts/{answer.id}/vote", data={"value": "1", "csrf_token": tokens.pop()}).status_code == 302
    stored = [entry[3] for entry in app.extensions["member_pages"].pages.values()]
    assert stored and all(TOKEN_MARK.encode() in body for body in stored)
    assert not any(_TOKEN.search(body.decode()).group(1) != TOKEN_MARK for body in stored)


def test_a_write_is_visible_to_a_member_on_the_next_request(app, make, db, thread):  # noqa: F811
    member, browser = _signed_in(app, make, "frank")
    for _ in range(2):
        browser.get(url_of(thread))
    make.reply(thread, body="A new answer another member wrote just now.")
    assert "A new answer another member wrote" in browser.get(url_of(thread)).get_data(as_text=True)
    for _ in range(2):
        assert "Printer queue is stuck" not in browser.get("/").get_data(as_text=True)  # drawn, then kept
    make.thread(title="Printer queue is stuck on one job")
    assert "Printer queue is stuck" in browser.get("/").get_data(as_text=True)


def test_a_write_only_a_members_page_shows_is_visible_on_the_next_request(app, make, db, thread):  # noqa: F811
    """Notifications and watch levels change no anonymous page, but they do a member's."""
    member, browser = _signed_in(app, make, "gina")
    for _ in range(2):
        page = browser.get(url_of(thread)).get_data(as_text=True)
    assert 'Notifications, 0 unread' in page and "This thread is muted." not in page
    notifications.notify(member.id, "reply", "Someone answered", url_of(thread))
    db.session.commit()
    assert 'Notifications, 1 unread' in browser.get(url_of(thread)).get_data(as_text=True)
    assert browser.post(f"/threads/{thread.id}/watch", data={"level": "muted"}).status_code in (302, 303)
    assert "This thread is muted." in browser.get(url_of(thread)).get_data(as_text=True)


def test_a_flash_message_is_shown_once_and_the_page_drawn_afresh(app, make, thread):  # noqa: F811
    _, browser = _signed_in(app, make, "hank")
    browser.get(url_of(thread))
    browser.get(url_of(thread))  # kept
    with browser.session_transaction() as session:
        session["_flashes"] = [("message", "Something to tell hank once.")]
    assert "Something to tell hank once." in browser.get(url_of(thread)).get_data(as_text=True)
    assert "Something to tell hank once." not in browser.get(url_of(thread)).get_data(as_text=True)


def test_a_members_kept_page_counts_their_view(app, make, db, thread):  # noqa: F811
    app.config["VIEW_COUNT_FLUSH_SECONDS"] = 3600
    view_counts.flush()
    member, browser = _signed_in(app, make, "ivy")
    browser.get(url_of(thread))
    view_counts.flush()
    db.session.refresh(thread)
    counted = thread.view_count
    calls = []
    real = view_counts.record
    view_counts.record = lambda *a, **k: calls.append(a) or real(*a, **k)
    try:
        assert browser.get(url_of(thread)).status_code == 200  # kept
    finally:
        view_counts.record = real
    assert calls == [(thread.id, f"u{member.id}")]
    assert view_counts.flush() == 0  # the same member, the same day: counted once
    db.session.refresh(thread)
    assert thread.view_count == counted


def test_member_pages_off_draws_every_time(app, make, thread):  # noqa: F811
    app.extensions.pop("member_pages")
    _, browser = _signed_in(app, make, "jack")
    browser.get(url_of(thread))
    with Statements(_db.engine) as seen:
        browser.get(url_of(thread))
    assert any("posts" in s for s in seen.statements)


# -- a kept page needs no user loaded; what would change the loader's answer draws afresh -------

def _loads(app):
    """Count the user loader's calls."""
    from community.extensions import login_manager

    calls, real = [], login_manager._user_callback
    login_manager._user_callback = lambda user_id: calls.append(user_id) or real(user_id)
    return calls, lambda: setattr(login_manager, "_user_callback", real)


def _kept(browser, path):
    browser.get(path)                     # the session's first page mints its CSRF token: not kept
    return browser.get(path)              # drawn and kept


def test_a_kept_page_is_served_without_loading_the_member(app, make, thread):  # noqa: F811
    app.config["VIEW_COUNT_FLUSH_SECONDS"] = 3600
    _, browser = _signed_in(app, make, "erin")
    path = url_of(thread)
    _kept(browser, path)
    calls, restore = _loads(app)
    try:
        with Statements(_db.engine) as kept:
            page = browser.get(path).get_data(as_text=True)
    finally:
        restore()
    assert calls == [] and kept.count == 0, (calls, kept.statements)
    assert "erin" in _header(page) and 'action="/logout"' in page


def test_a_role_change_draws_the_members_next_page_with_their_new_rights(app, make, db, thread):  # noqa: F811
    member, browser = _signed_in(app, make, "frank")
    assert "Moderation queue" not in _kept(browser, url_of(thread)).get_data(as_text=True)
    member.role = "moderator"
    db.session.commit()
    calls, restore = _loads(app)
    try:
        page = browser.get(url_of(thread)).get_data(as_text=True)
    finally:
        restore()
    assert calls and "Moderation queue" in page
    member.role = "member"
    db.session.commit()
    assert "Moderation queue" not in browser.get(url_of(thread)).get_data(as_text=True)


def test_a_suspension_shows_on_the_members_next_page(app, make, db, thread):  # noqa: F811
    from community.services.moderation import suspensions

    moderator = make.user("mod", role="moderator")
    member, browser = _signed_in(app, make, "gina")
    assert "Your account is suspended" not in _kept(browser, url_of(thread)).get_data(as_text=True)
    until = (date.today() + timedelta(days=7)).isoformat()
    suspensions.suspend(moderator, member, "Spam links", until)
    db.session.commit()
    assert "Your account is suspended" in browser.get(url_of(thread)).get_data(as_text=True)


def test_after_logout_the_browser_gets_the_anonymous_page_not_the_kept_one(app, make, thread):  # noqa: F811
    _, browser = _signed_in(app, make, "hal")
    assert "hal" in _header(_kept(browser, url_of(thread)).get_data(as_text=True))
    browser.post("/logout")
    browser.get("/")                      # the flash of the logout is shown once
    page = browser.get(url_of(thread)).get_data(as_text=True)
    assert "hal" not in _header(page) and "Log in" in page


def test_a_password_change_ends_the_other_sessions_even_with_their_pages_kept(app, make, db, thread):  # noqa: F811
    from community.services.accounts import settings

    member, laptop = _signed_in(app, make, "ivy")
    assert "ivy" in _header(_kept(laptop, url_of(thread)).get_data(as_text=True))
    settings.set_password(member, "a-new-long-password-9")   # on another device
    db.session.commit()
    page = laptop.get(url_of(thread)).get_data(as_text=True)
    assert "ivy" not in _header(page) and "Log in" in page


def test_another_browser_with_the_same_session_cookie_goes_through_the_loader(app, make, thread):  # noqa: F811
    # Flask-Login's session protection ("basic") marks such a session not fresh: it must still run.
    _, browser = _signed_in(app, make, "josh")
    _kept(browser, url_of(thread))
    calls, restore = _loads(app)
    try:
        page = browser.get(url_of(thread), headers={"User-Agent": "another browser"}).get_data(as_text=True)
    finally:
        restore()
    assert calls and "josh" in _header(page)
