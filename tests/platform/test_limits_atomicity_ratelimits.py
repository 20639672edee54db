"""Content limits in pages and API, all-or-nothing writes, and rate limits (login, posting)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from community.models import Notification, OutboxMessage, Post, ReputationEvent, Tag, Thread
from community.services import fanout, notifications
from community.services.accounts import subscriptions
from community.services.forum import reputation


def count(db, model):
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


# -- limits ------------------------------------------------------------------------------

@pytest.mark.parametrize("field, value, message", [
    ("title", "Too short", "at least 10 characters"),
    ("title", "t" * 151, "at most 150 characters (it has 151)"),
    ("body", "Too short", "at least 20 characters"),
    ("body", "b" * 30001, "at most 30,000 characters (it has 30,001)"),
    ("tags", "a b c d e f", "Use at most 5 tags."),
    ("tags", "ok " + "x" * 31, "longer than 30 characters"),
    ("tags", "bad/tag", "may only contain"),
])
def test_ask_page_limits_with_clear_messages(client, db, make, login, field, value, message):
    category = make.category()
    login(make.user("asker"))
    form = {"title": "A perfectly fine title", "body": "A perfectly fine body for the question.",
            "tags": "sync", "category_id": category.id, field: value}
    r = client.post("/ask", data=form)
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert message in html
    assert f'id="{field}-error"' in html          # shown beside the field
    assert count(db, Thread) == 0 and count(db, Tag) == 0


def test_ask_page_keeps_what_was_typed_after_an_error(client, make, login):
    category = make.category()
    login(make.user("asker"))
    html = client.post("/ask", data={"title": "Short", "body": "My detailed body text stays here.",
                                     "tags": "sync", "category_id": category.id}).get_data(as_text=True)
    assert "My detailed body text stays here." in html and 'value="sync"' in html


def test_reply_limits_in_page_and_api(client, db, make, login, token_for):
    thread = make.thread()
    user = make.user("helper")
    login(user)
    r = client.post(f"/threads/{thread.id}/reply", data={"body": "x"})
    assert r.status_code == 400 and "at least 2 characters" in r.get_data(as_text=True)
    r = client.post(f"/api/v1/threads/{thread.id}/posts", headers=token_for(user), json={"body": "b" * 30001})
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "body"
    assert count(db, Post) == 1


def test_limits_follow_configuration(app, client, make, token_for):
    app.config.update(TITLE_MAX_LENGTH=20, MAX_TAGS=1)
    category = make.category()
    auth = token_for(make.user("asker"))
    r = client.post("/api/v1/threads", headers=auth, json={"category_id": category.id, "title": "t" * 21, "body": "b" * 30})
    assert "at most 20" in r.get_json()["error"]["message"]
    r = client.post("/api/v1/threads", headers=auth, json={"category_id": category.id, "title": "t" * 12, "body": "b" * 30, "tags": ["a", "b"]})
    assert r.get_json()["error"] == {"code": "validation_error", "message": "Use at most 1 tags.", "field": "tags"}


# -- a failing write leaves nothing -----------------------------------------------------------

def test_failure_after_thread_and_tags_were_flushed_leaves_nothing(app, client, db, make, token_for, monkeypatch):
    category = make.category()
    auth = token_for(make.user("asker"))
    make.user("carol")

    def explode(*args, **kwargs):
        raise RuntimeError("simulated crash half-way")

    # The last step inside the question's transaction: queueing its notifications (services/fanout.py).
    monkeypatch.setattr(fanout, "later", explode)
    with pytest.raises(RuntimeError):
        client.post("/api/v1/threads", headers=auth, json={
            "category_id": category.id, "title": "Half written question", "body": "Hello @carol, this will fail.",
            "tags": ["brand-new-tag"]})
    db.session.rollback()   # what the request teardown does
    assert (count(db, Thread), count(db, Post), count(db, Tag), count(db, Notification),
            count(db, OutboxMessage)) == (0, 0, 0, 0, 0)


def test_failure_in_the_middle_of_an_accept_leaves_nothing(app, client, db, make, login, monkeypatch):
    asker = make.user("asker")
    thread = make.thread(author=asker)
    answer = make.reply(thread)
    calls = []
    real_award = reputation.award

    def award_then_fail(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            raise RuntimeError("simulated crash between the two ledger rows")
        return real_award(*args, **kwargs)

    monkeypatch.setattr(reputation, "award", award_then_fail)
    login(asker)
    with pytest.raises(RuntimeError):
        client.post(f"/threads/{thread.id}/accept", data={"post_id": answer.id})
    db.session.rollback()
    db.session.refresh(thread)
    assert thread.accepted_post_id is None and count(db, ReputationEvent) == 0
    assert db.session.get(type(asker), answer.author_id).reputation_points == 0


def test_failure_while_replying_leaves_counters_untouched(client, db, make, login, monkeypatch):
    thread = make.thread()
    login(make.user("helper"))
    # After the reply, its counters and its queued fan-out row were written in the same transaction.
    monkeypatch.setattr(subscriptions, "watch_by_default", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(RuntimeError):
        client.post(f"/threads/{thread.id}/reply", data={"body": "This reply will not be saved."})
    db.session.rollback()
    db.session.refresh(thread)
    assert thread.reply_count == 0 and count(db, Post) == 1 and count(db, OutboxMessage) == 0


def test_notifications_failing_after_the_commit_keep_the_reply_and_are_retried(client, db, make, login, monkeypatch):
    # Telling people happens after the reply's commit (services/fanout.py): its failure cannot undo
    # the reply; the fan-out row stays, with its error, and a later round delivers it once.
    asker = make.user("asker")
    thread = make.thread(author=asker)
    login(make.user("helper"))
    real_notify = notifications.notify
    monkeypatch.setattr(notifications, "notify", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    r = client.post(f"/threads/{thread.id}/reply", data={"body": "This reply is saved all the same."})
    assert r.status_code in (302, 303)
    db.session.rollback()
    db.session.refresh(thread)
    assert thread.reply_count == 1 and count(db, Post) == 2 and count(db, Notification) == 0
    row = db.session.execute(select(OutboxMessage).where(OutboxMessage.channel == fanout.CHANNEL)).scalar_one()
    assert row.attempts == 1 and row.last_error == "RuntimeError: boom" and row.failed_at is None
    monkeypatch.setattr(notifications, "notify", real_notify)
    db.session.execute(update(OutboxMessage).where(OutboxMessage.id == row.id)
                       .values(available_at=row.created_at))   # its back-off has passed
    db.session.commit()
    assert fanout.apply_pending() == 1 and fanout.apply_pending() == 0
    notes = db.session.execute(select(Notification).where(Notification.user_id == asker.id)).scalars().all()
    assert [n.kind for n in notes] == ["reply"] and fanout.pending() == 0


# -- rate limits -----------------------------------------------------------------------------

@pytest.fixture()
def limited(app):
    app.config.update(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute", POST_RATE_LIMIT="2 per minute")
    return app


def _login(client, name, ip):
    return client.post("/login", data={"login": name, "password": "wrong-password"},
                       environ_base={"REMOTE_ADDR": ip})


def test_login_is_throttled_per_account_across_addresses(limited, client, make):
    make.user("victim")
    for i in range(3):
        assert _login(client, "victim", f"10.0.0.{i}").status_code == 400
    r = _login(client, "Victim", "10.0.0.99")
    assert r.status_code == 429
    assert "Too many attempts" in r.get_data(as_text=True)
    # the right password does not get through either while throttled
    r = client.post("/login", data={"login": "victim", "password": "password123"}, environ_base={"REMOTE_ADDR": "10.0.0.98"})
    assert r.status_code == 429
    assert _login(client, "someone-else", "10.0.0.99").status_code == 400


def test_the_account_bucket_is_the_account_however_it_is_typed(limited, client, make):
    """Name, case, spaces or the email: one bucket (the typed string gave each its own)."""
    make.user("victim")  # email victim@example.com
    for i, typed in enumerate(["victim", "  VICTIM ", "victim@example.com"]):
        assert _login(client, typed, f"10.2.0.{i}").status_code == 400
    assert _login(client, "Victim@Example.com", "10.2.0.9").status_code == 429
    # a name that is no account is throttled by its name, and does not touch the account's bucket
    for i in range(3):
        assert _login(client, "nobody", f"10.3.0.{i}").status_code == 400
    assert _login(client, " NOBODY", "10.3.0.9").status_code == 429


def test_the_default_storage_is_shared_by_processes(tmp_path, monkeypatch):
    """Without REDIS_URL the counters live in a file of the instance folder, not in a process.
    (An app of its own: the PostgreSQL pass of tests/run.py sets REDIS_URL for the others.)"""
    from community import create_app

    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("RATELIMIT_STORAGE_URI", raising=False)
    app = create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "t",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'db.sqlite'}"})
    uri = app.config["RATELIMIT_STORAGE_URI"]
    assert uri.startswith("sqlite:////") and uri.endswith("/ratelimits.sqlite3")
    from limits import parse
    from limits.storage import storage_from_string
    from limits.strategies import MovingWindowRateLimiter

    one, two = (MovingWindowRateLimiter(storage_from_string(uri)) for _ in range(2))  # two workers
    limit = parse("3 per minute")
    assert [one.hit(limit, "k"), two.hit(limit, "k"), one.hit(limit, "k"), two.hit(limit, "k")] == \
        [True, True, True, False]
    assert one.test(limit, "other") and not two.test(limit, "k")


def test_login_is_throttled_per_address_across_accounts(limited, client):
    for i in range(3):
        assert _login(client, f"guess{i}", "10.1.1.1").status_code == 400
    r = _login(client, "guess-new", "10.1.1.1")
    assert r.status_code == 429 and "Please wait and try again" in r.get_data(as_text=True)
    assert _login(client, "guess-new", "10.1.1.2").status_code == 400


def test_posting_is_rate_limited_in_the_api_with_429(limited, client, db, make, token_for):
    category = make.category()
    auth = token_for(make.user("poster"))
    body = {"category_id": category.id, "title": "Rate limited question", "body": "A body that is long enough."}
    assert [client.post("/api/v1/threads", headers=auth, json=body).status_code for _ in range(2)] == [201, 201]
    r = client.post("/api/v1/threads", headers=auth, json=body)
    assert r.status_code == 429
    assert r.get_json()["error"]["code"] == "rate_limited"
    assert count(db, Thread) == 2


def test_posting_is_rate_limited_in_pages(limited, client, db, make, login):
    thread = make.thread()
    login(make.user("poster"))
    codes = [client.post(f"/threads/{thread.id}/reply", data={"body": f"Reply number {i}"}).status_code for i in range(3)]
    assert codes == [302, 302, 429]
    assert count(db, Post) == 3
