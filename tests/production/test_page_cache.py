"""Pages kept for anonymous readers (community/page_cache.py): who gets them, when they go stale.

Each test runs with the in-process store and again with Redis (``TEST_REDIS_URL``, else
``REDIS_URL``, else redis://127.0.0.1:6379/5; skipped, saying so, where none answers).
"""
from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import event

from community import create_app
from community.extensions import db as _db
from community.services.forum import threads as forum_threads
from community.services.forum import votes
from tests import databases

REDIS_URL = os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/5"


@pytest.fixture(params=["memory", "redis"])
def app(request, tmp_path):
    """The suite's app (tests/conftest.py) with the page cache on, in memory or in Redis."""
    extra = {}
    if request.param == "redis":
        try:
            import redis

            redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
        except Exception as exc:  # noqa: BLE001
            pytest.skip(f"Redis not reachable at {REDIS_URL} ({exc.__class__.__name__})")
        extra = {"REDIS_URL": REDIS_URL, "REDIS_KEY_PREFIX": f"{databases.redis_prefix()}-{uuid.uuid4().hex[:8]}"}
    app = request.getfixturevalue("_suite_app_factory")(extra)
    yield app
    if request.param == "redis":
        store = app.extensions["page_cache"]
        keys = list(store.client.scan_iter(match=f"{extra['REDIS_KEY_PREFIX']}*"))
        if keys:
            store.client.delete(*keys)


@pytest.fixture()
def _suite_app_factory(tmp_path):
    from tests.conftest import _fresh_schema, stamp_migrations_head

    contexts = []

    def build(extra):
        app = create_app({
            "TESTING": True, "INSTANCE_PATH": str(tmp_path),
            "SQLALCHEMY_DATABASE_URI": os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'test.db'}",
            "SEARCH_INDEX_DIR": str(tmp_path / "index"), "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False, "SERVER_NAME": "localhost", "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "DEFLECTION_HOLDOUT": 0, "VIEW_COUNT_FLUSH_SECONDS": 0, **extra})
        ctx = app.app_context()
        ctx.push()
        contexts.append(ctx)
        _fresh_schema()
        stamp_migrations_head(app)
        return app

    yield build
    from tests.conftest import _empty_tables

    for ctx in reversed(contexts):
        _db.session.remove()
        if _db.engine.dialect.name == "postgresql":
            _empty_tables(_db.engine)
        else:
            _db.drop_all()
        _db.engine.dispose()
        ctx.pop()


class Statements:
    """Counts the SQL statements the app sends while in use."""

    def __init__(self, engine):
        self.engine, self.count, self.statements = engine, 0, []

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, *args, **kwargs):
        self.count += 1
        self.statements.append(statement)


@pytest.fixture()
def thread(make):
    thread = make.thread(title="Why does the sync client stop overnight?")
    make.reply(thread, body="Turn off sleep while idle in Settings, Power.")
    return thread


def url_of(thread):
    return f"/threads/{thread.id}/{thread.slug}"


def test_an_anonymous_reader_gets_the_kept_page_without_a_query_or_a_cookie(app, client, thread):
    app.config["VIEW_COUNT_FLUSH_SECONDS"] = 3600  # the batch's own write is not the page's
    url = url_of(thread)
    first = client.get(url)
    assert first.status_code == 200 and "Set-Cookie" not in first.headers
    with Statements(_db.engine) as seen:
        again = client.get(url)
    assert again.status_code == 200 and again.data == first.data
    assert seen.count == 0, seen.statements
    assert "Set-Cookie" not in again.headers and again.headers["ETag"] == first.headers["ETag"]
    assert "Cookie" in again.headers.get("Vary", "")
    for path in ("/", f"/categories/{thread.category.slug}", "/questions"):
        assert "Set-Cookie" not in client.get(path).headers, path


def test_a_conditional_request_with_the_etag_gets_304(app, client, thread):
    # The view count is held still: this test is about the ETag, not the cache.  Under load it
    # failed (CI at beee148; 3 of 36 loaded runs here, cause not found, 0 of 117 since): a page
    # drawn again one view later differs and rightly answers 200.  The kept page's own path is
    # test_an_anonymous_reader_gets_the_kept_page_without_a_query_or_a_cookie.
    app.config["VIEW_COUNT_FLUSH_SECONDS"] = 3600
    etag = client.get(url_of(thread)).headers["ETag"]
    response = client.get(url_of(thread), headers={"If-None-Match": etag})
    assert response.status_code == 304 and response.data == b""
    assert client.get(url_of(thread), headers={"If-None-Match": '"other"'}).status_code == 200


def test_a_write_is_visible_on_the_next_request(app, client, make, db, thread):
    assert "A brand new answer" not in client.get(url_of(thread)).get_data(as_text=True)
    make.reply(thread, body="A brand new answer: reinstall the client.")
    assert "A brand new answer" in client.get(url_of(thread)).get_data(as_text=True)
    answer = thread.posts[-1]
    votes.set_vote(make.user("voter", reputation=50), answer, 1)
    db.session.commit()
    page = client.get(url_of(thread)).get_data(as_text=True)
    assert f'id="post-{answer.id}"' in page
    assert page.split(f'id="post-{answer.id}"')[1].split('class="score"')[1][:40].count(">1<") == 1
    home = client.get("/").get_data(as_text=True)
    forum_threads.create_thread(make.user("asker"), thread.category, "Printer queue is stuck on one job",
                                "Every job waits behind the first one forever.", None)
    db.session.commit()
    assert "Printer queue is stuck" not in home
    assert "Printer queue is stuck" in client.get("/").get_data(as_text=True)


def test_a_write_made_by_another_worker_is_seen(app, client, make, thread):
    """Two apps on one database and instance folder stand for two gunicorn workers."""
    other = create_app({**{k: app.config[k] for k in (
        "TESTING", "SQLALCHEMY_DATABASE_URI", "SEARCH_INDEX_DIR", "SECRET_KEY", "SERVER_NAME",
        "WTF_CSRF_ENABLED", "RATELIMIT_ENABLED", "REDIS_URL", "REDIS_KEY_PREFIX")},
        "INSTANCE_PATH": app.instance_path})
    assert "Answer from the other worker" not in client.get(url_of(thread)).get_data(as_text=True)
    with other.app_context():
        author = make.user("elsewhere")
        forum_threads.add_reply(author, _db.session.merge(thread), "Answer from the other worker, committed there.")
        _db.session.commit()
    assert "Answer from the other worker" in client.get(url_of(thread)).get_data(as_text=True)


def test_a_logged_in_visitor_never_sees_another_visitors_page(app, make, thread):
    anonymous = app.test_client()
    kept = anonymous.get(url_of(thread)).get_data(as_text=True)
    assert "Log in" in kept
    pages = {}
    for name in ("alice", "bob"):
        member = make.user(name)
        browser = app.test_client()
        browser.post("/login", data={"login": member.username, "password": "password123"})
        pages[name] = browser.get(url_of(thread))
        assert pages[name].headers["Cache-Control"].startswith("private")
    alice, bob = (pages[n].get_data(as_text=True) for n in ("alice", "bob"))
    assert "alice" in alice and "bob" not in alice.split("</header>")[0]
    assert "bob" in bob and "alice" not in bob.split("</header>")[0]
    again = anonymous.get(url_of(thread)).get_data(as_text=True)  # nothing of theirs was kept
    assert "Log in" in again and "alice" not in again and "bob" not in again


def test_a_visitor_with_something_in_their_session_is_drawn_afresh(app, client, thread):
    """A flash message waiting (here: after an anonymous vote) is one visitor's page."""
    client.get(url_of(thread))
    answer = thread.posts[-1]
    assert client.post(f"/posts/{answer.id}/vote", data={"value": "1"}).status_code == 302
    page = client.get(url_of(thread)).get_data(as_text=True)
    assert "Log in to vote." in page
    assert "Log in to vote." not in app.test_client().get(url_of(thread)).get_data(as_text=True)


def test_the_kept_page_has_no_csrf_token_and_its_vote_arrows_still_work(app, make, thread):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    page = client.get(url_of(thread)).get_data(as_text=True)
    assert '<meta name="csrf-token" content="">' in page and 'name="csrf_token" value=""' in page
    answer = thread.posts[-1]
    response = client.post(f"/posts/{answer.id}/vote", data={"value": "1"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    member = make.user("carol", reputation=50)
    member_client = app.test_client()
    login_page = member_client.get("/login").get_data(as_text=True)
    token = login_page.split('name="csrf_token" value="')[1].split('"')[0]
    member_client.post("/login", data={"login": "carol", "password": "password123", "csrf_token": token})
    assert member_client.post(f"/posts/{answer.id}/vote", data={"value": "1"}).status_code == 400  # no token
    page = member_client.get(url_of(thread)).get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    assert token
    assert member_client.post(f"/posts/{answer.id}/vote", data={"value": "1", "csrf_token": token}).status_code == 302


def test_views_of_kept_pages_are_counted_once_per_reader_in_a_batch(app, make, db, thread):
    from community.services.forum import view_counts

    app.config["VIEW_COUNT_FLUSH_SECONDS"] = 3600
    readers = [app.test_client() for _ in range(3)]
    for i, reader in enumerate(readers):
        for _ in range(2):
            assert reader.get(url_of(thread), headers={"User-Agent": f"reader {i}"}).status_code == 200
    db.session.refresh(thread)
    assert thread.view_count == 0  # waiting in the batch
    assert view_counts.flush() == 3
    db.session.refresh(thread)
    assert thread.view_count == 3
    readers[0].get(url_of(thread), headers={"User-Agent": "reader 0"})
    assert view_counts.flush() == 0  # the same reader, the same day


def test_a_view_count_write_does_not_throw_pages_away(app, client, thread):
    from community.services.forum import view_counts

    store = app.extensions["page_cache"]
    url = url_of(thread)
    client.get(url)
    before = store.generation()
    view_counts.record(thread.id, "someone")
    assert view_counts.flush() == 1  # the page's own reader was written after its request
    assert store.generation() == before
    app.config["VIEW_COUNT_FLUSH_SECONDS"] = 3600
    with Statements(_db.engine) as seen:
        client.get(url)
    assert seen.count == 0


def test_with_redis_away_pages_are_drawn_not_failed(_suite_app_factory, make, caplog):
    app = _suite_app_factory({"REDIS_URL": "redis://127.0.0.1:1/0"})  # nothing listens on port 1
    thread = make.thread(title="What if the cache server is down?")
    client = app.test_client()
    for _ in range(2):
        response = client.get(url_of(thread))
        assert response.status_code == 200 and "What if the cache server is down?" in response.get_data(as_text=True)
    assert "Redis did not answer" in caplog.text


def test_with_redis_a_page_held_in_memory_costs_only_the_generation(app, client, make, thread):
    """The page's bytes come from Redis once per process; a write elsewhere still shows next."""
    store = app.extensions["page_cache"]
    if not hasattr(store, "client"):
        pytest.skip("the in-process store has no second level")
    url = url_of(thread)
    client.get(url)
    calls, real = [], store.read
    store.read = lambda *command: calls.append(command[0].lower()) or real(*command)
    try:
        assert client.get(url).status_code == 200
        assert calls == ["get"]
        store.bump()  # what another server's write does
        assert client.get(url).status_code == 200
        assert calls[1:] == ["get", "mget"]  # stale in memory: asked Redis (and drew the page)
    finally:
        store.read = real


def test_after_redis_lost_its_keys_a_held_page_is_not_served_again(app, client, make, thread):
    store = app.extensions["page_cache"]
    if not hasattr(store, "client"):
        pytest.skip("Redis only")
    url = url_of(thread)
    client.get(url)
    held = client.get(url).get_data(as_text=True)
    store.client.delete(*store.client.scan_iter(match=store.prefix + "*"), store.generation_key)
    make.reply(thread, body="Written while Redis was empty: the count starts again.")
    assert "Written while Redis was empty" in client.get(url).get_data(as_text=True)
    assert "Written while Redis was empty" not in held


def test_with_redis_a_dropped_connection_is_replaced_and_the_read_still_answers(app, client, make, thread):
    """The generation is read on a connection the store keeps (redis_fast_reads.py): when Redis
    closes it (a restart, an idle timeout), that read goes through the client instead and the
    next one opens a new connection; a write is still seen on the next request."""
    store = app.extensions["page_cache"]
    if not hasattr(store, "client"):
        pytest.skip("Redis only")
    url = url_of(thread)
    client.get(url)
    assert client.get(url).status_code == 200
    kept = list(store.read._idle)
    assert kept, "the read left its connection for the next one"
    for connection in kept:                       # Redis closes them, as on a restart
        connection.send_command("CLIENT", "ID")
        assert store.client.client_kill_filter(_id=connection.read_response()) == 1
    make.reply(thread, body="Written after the cache connection was dropped.")
    assert "Written after the cache connection was dropped." in client.get(url).get_data(as_text=True)
    assert client.get(url).status_code == 200
    assert store.read._idle and not set(store.read._idle) & set(kept)


def test_fast_reads_answer_as_the_client_does_and_start_afresh_in_a_forked_worker(app):
    store = app.extensions["page_cache"]
    if not hasattr(store, "client"):
        pytest.skip("Redis only")
    key = store.prefix + "fast-reads-test"
    store.client.set(key, b"kept")
    assert store.read("GET", key) == store.client.get(key) == b"kept"
    assert store.read("MGET", key, key + "-missing") == store.client.mget(key, key + "-missing") == [b"kept", None]
    before = list(store.read._idle)
    store.read._pid = -1                         # as if this process were a fork of the one that opened them
    assert store.read("GET", key) == b"kept"
    assert store.read._idle and not set(store.read._idle) & set(before)
    store.client.delete(key)
