"""Kept pages answered before Flask (community/page_cache_wsgi.py): the same answer as through
Flask, only for visitors who certainly have no user, and the view still counted.

Runs with the in-process store and with Redis, as tests/production/test_page_cache.py.
"""
from __future__ import annotations

import logging

import pytest

from community.services.forum import view_counts
from tests.production.test_page_cache import app, _suite_app_factory, thread, url_of  # noqa: F401 - fixtures

#: Different in every response (their presence is compared, not their values).
_PER_RESPONSE = {"X-Request-ID", "Date"}


@pytest.fixture()
def flask_requests(app, monkeypatch):  # noqa: F811
    """How many requests reached Flask's own dispatch."""
    seen = []
    dispatch = app.full_dispatch_request
    monkeypatch.setattr(app, "full_dispatch_request", lambda: seen.append(1) or dispatch())
    return seen


def _headers(response) -> dict:
    return {k: "…" if k in _PER_RESPONSE else v for k, v in response.headers.items()}


def test_a_kept_page_is_answered_before_flask_with_the_same_headers_as_through_it(app, thread, flask_requests):  # noqa: F811
    url = url_of(thread)
    drawn = app.test_client().get(url)
    assert drawn.status_code == 200 and len(flask_requests) == 1
    front = app.test_client().get(url)
    assert len(flask_requests) == 1, "the kept page went through Flask"
    # A stale or foreign session cookie is an empty session: Flask's way, from the same entry.
    through_flask = app.test_client()
    through_flask.set_cookie("session", "not-a-signed-session")
    behind = through_flask.get(url)
    assert len(flask_requests) == 2
    assert front.status_code == behind.status_code == 200
    assert front.data == behind.data == drawn.data
    assert _headers(front) == _headers(behind)
    assert front.headers["X-Request-ID"] and front.headers["X-Request-ID"] != behind.headers["X-Request-ID"]
    assert "Set-Cookie" not in front.headers


def test_a_conditional_request_gets_the_same_304_from_both_doors(app, thread, flask_requests):  # noqa: F811
    url = url_of(thread)
    etag = app.test_client().get(url).headers["ETag"]
    front = app.test_client().get(url, headers={"If-None-Match": etag})
    through_flask = app.test_client()
    through_flask.set_cookie("session", "x")
    behind = through_flask.get(url, headers={"If-None-Match": etag})
    assert front.status_code == behind.status_code == 304 and front.data == behind.data == b""
    assert _headers(front) == _headers(behind)
    assert app.test_client().get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    assert len(flask_requests) == 2  # the drawing and the one with a session cookie


def test_head_gets_the_headers_without_the_body(app, thread, flask_requests):  # noqa: F811
    url = url_of(thread)
    drawn = app.test_client().get(url)
    head = app.test_client().head(url)
    assert len(flask_requests) == 1
    assert head.status_code == 200 and head.data == b""
    assert head.headers["Content-Length"] == str(len(drawn.data))


@pytest.mark.parametrize("credential", ["session", "remember_token", "authorization"])
def test_a_visitor_who_may_be_signed_in_goes_through_flask(app, make, thread, flask_requests, credential):  # noqa: F811
    """A member's cookies (or a token) never get a kept page from the front door."""
    url = url_of(thread)
    app.test_client().get(url)  # kept
    member = make.user("dora")
    browser = app.test_client()
    browser.post("/login", data={"login": "dora", "password": "password123", "remember": "y"})
    before = len(flask_requests)
    if credential == "authorization":
        page = app.test_client().get(url, headers={"Authorization": "Bearer nothing-valid"})
    else:
        only = app.test_client()
        cookie = browser.get_cookie(credential)
        if cookie is None:
            pytest.skip(f"the login form set no {credential} cookie")
        only.set_cookie(credential, cookie.value)
        page = only.get(url)
        assert member.username in page.get_data(as_text=True).split("</header>")[0]
    assert len(flask_requests) == before + 1
    assert page.status_code == 200


def test_a_write_is_visible_at_the_front_door_on_the_next_request(app, make, thread, flask_requests):  # noqa: F811
    client = app.test_client()
    assert "Another answer" not in client.get(url_of(thread)).get_data(as_text=True)
    client.get(url_of(thread))
    make.reply(thread, body="Another answer: sign out and back in.")
    assert "Another answer" in client.get(url_of(thread)).get_data(as_text=True)


def test_views_from_the_front_door_are_counted_and_logged(app, db, thread, flask_requests, caplog):  # noqa: F811
    app.config["VIEW_COUNT_FLUSH_SECONDS"] = 3600
    url = url_of(thread)
    app.test_client().get(url, headers={"User-Agent": "first"})
    view_counts.flush()
    db.session.refresh(thread)
    counted = thread.view_count
    with caplog.at_level(logging.INFO, logger="community.request"):
        for agent in ("second", "third", "third"):
            response = app.test_client().get(url, headers={"User-Agent": agent, "X-Request-ID": f"lb-{agent}"})
            assert response.headers["X-Request-ID"] == f"lb-{agent}"
    assert len(flask_requests) == 1
    assert view_counts.flush() == 2
    db.session.refresh(thread)
    assert thread.view_count == counted + 2
    lines = [r.getMessage() for r in caplog.records if r.name == "community.request"]
    assert sum(f"request_id=lb-second method=GET path={url} status=200" in line for line in lines) == 1


def test_a_page_is_kept_per_host_and_scheme(app, thread, flask_requests):  # noqa: F811
    """A site answering on two hostnames (or http and https) never serves one host's page to the
    other: a page may carry absolute links to the host it was drawn for."""
    url = url_of(thread)
    for base in ("http://localhost", "http://localhost", "http://alias.example", "https://localhost",
                 "http://ALIAS.example"):
        assert app.test_client().get(url, base_url=base).status_code == 200
    assert len(flask_requests) == 3  # localhost, alias.example and https once each, each kept after


def test_a_worker_that_only_answers_kept_pages_starts_the_search_queue(_suite_app_factory):  # noqa: F811
    """The search queue's applier starts in a worker's first request, even one answered before
    Flask: else updates a dead worker left in the queue waited for as long as pages stayed kept."""
    import time

    from community import search
    from community.extensions import db as _db
    from tests.conftest import Factory

    app = _suite_app_factory({"SEARCH_INDEX_SYNC": False, "SEARCH_QUEUE_POLL_SECONDS": 0.05})
    make = Factory(_db)
    queue = app.extensions["search"].queue
    try:
        thread = make.thread(title="Printer queue stuck on the first job")
        client = app.test_client()
        client.get(url_of(thread))  # drawn and kept; this request started the applier through Flask
        # A worker that dies before it applies: while it "lives", its applier takes nothing from
        # the queue (stopping it after the write raced it: on PostgreSQL it had applied already).
        queue.apply = lambda **_: 0
        try:
            make.reply(thread, body="Left in the queue by a worker that then died.")
            client.get(url_of(thread))  # drawn again (the write moved the generation on), kept
        finally:
            queue.stop()
            del queue.apply
        assert search.pending() >= 1
        seen = []
        dispatch = app.full_dispatch_request
        app.full_dispatch_request = lambda: seen.append(1) or dispatch()
        assert client.get(url_of(thread)).status_code == 200 and seen == []  # answered before Flask
        assert queue._thread is not None and queue._thread.is_alive()
        for _ in range(200):
            _db.session.rollback()
            if search.pending() == 0:
                break
            time.sleep(0.05)
        assert search.pending() == 0
    finally:
        queue.stop()
