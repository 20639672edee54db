"""Answers and votes take SQLite's write lock late and ask their rule again under the lock.

``extensions.locks_late`` views (the reply and vote of the API and the pages) read the token's
user, the thread and the post outside the write lock, which the first row lock takes
(``locking.write_lock``); what they act on is re-read and checked again there, so a thread locked
or a voter suspended between the first check and the lock is refused, as it would be a moment later.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, update

from community import permissions
from community.models import Thread, User, utcnow
from community.services.errors import PermissionDenied
from community.services.forum import threads, votes


@pytest.fixture()
def statements(db):
    """The SQL the app sends, in order (``BEGIN IMMEDIATE`` included)."""
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    event.remove(db.engine, "before_cursor_execute", record)


def _sqlite_only(db):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's write lock (PostgreSQL locks rows)")


def _first(seen, *prefixes) -> int:
    return next(i for i, s in enumerate(seen) if s.upper().startswith(prefixes))


def _site(make, token_for):
    author, voter = make.user("author"), make.user("voter", reputation=200)
    thread = make.thread(author=author)
    post = make.reply(thread, author=author)
    return thread, post, token_for(voter)


def test_a_vote_reads_its_token_post_and_thread_before_taking_the_write_lock(db, client, make, token_for,
                                                                             statements):
    _sqlite_only(db)
    _, post, auth = _site(make, token_for)
    url = f"/api/v1/posts/{post.id}/vote"
    # The first use writes the token's last-used time (and commits): the second does not.
    assert client.post(url, json={"value": 1}, headers=auth).status_code == 200
    statements.clear()
    response = client.post(url, json={"value": 0}, headers=auth)
    assert response.status_code == 200 and response.get_json()["score"] == 0
    begins = [i for i, s in enumerate(statements) if s == "BEGIN IMMEDIATE"]
    assert len(begins) == 1
    read_first = statements[:begins[0]]
    assert any("FROM api_tokens" in s for s in read_first)
    assert any(s.startswith("SELECT posts.") for s in read_first)
    assert any(s.startswith("SELECT threads.") for s in read_first)
    assert begins[0] < _first(statements, "INSERT", "UPDATE")


def test_an_answer_is_rendered_and_checked_before_the_write_lock_and_its_thread_read_again_under_it(
        db, client, make, token_for, statements):
    _sqlite_only(db)
    thread, post, auth = _site(make, token_for)
    url = f"/api/v1/threads/{thread.id}/posts"
    client.post(f"/api/v1/posts/{post.id}/vote", json={"value": 1}, headers=auth)   # the token's first use
    statements.clear()
    response = client.post(url, headers=auth, json={"body": "Open **Settings**, then Advanced, and switch it on."})
    assert response.status_code == 201
    assert "<strong>Settings</strong>" in response.get_json()["body_html"]
    begin = statements.index("BEGIN IMMEDIATE")   # later ones: the fan-out, applied at once in tests
    threads_read = [i for i, s in enumerate(statements) if s.startswith("SELECT threads.")]
    assert threads_read[0] < begin < threads_read[1]          # checked, then re-read under the lock
    assert begin < _first(statements, "INSERT", "UPDATE")


def test_a_write_not_marked_takes_the_write_lock_at_its_first_statement(db, client, make, token_for, statements):
    _sqlite_only(db)
    thread, post, auth = _site(make, token_for)
    url, post_id = f"/api/v1/threads/{thread.id}/accept", post.id
    client.post(f"/api/v1/posts/{post_id}/vote", json={"value": 1}, headers=auth)
    statements.clear()
    client.post(url, json={"post_id": post_id}, headers=auth)
    assert statements[0] == "BEGIN IMMEDIATE"


def test_an_answer_to_a_thread_locked_after_the_check_is_refused_under_the_lock(app, db, make):
    thread = make.thread()
    member = make.user()
    assert permissions.can_reply(member, thread)
    # Locked by another request after this one checked: the session's thread still says open.
    db.session.execute(update(Thread).where(Thread.id == thread.id).values(locked=True)
                       .execution_options(synchronize_session=False))
    assert not thread.locked
    with app.test_request_context():
        with pytest.raises(PermissionDenied, match="locked"):
            threads.add_reply(member, thread, "Open Settings, then Advanced, and switch it on.",
                              allowed=lambda locked: permissions.can_reply(member, locked))
    db.session.rollback()
    assert thread.reply_count == 0


def test_a_vote_by_a_voter_suspended_after_the_check_is_refused_under_the_lock(app, db, make):
    author, voter = make.user(), make.user(reputation=200)
    post = make.reply(make.thread(author=author), author=author)
    assert permissions.vote_refusal(voter, post, 1) is None
    db.session.execute(update(User).where(User.id == voter.id)
                       .values(suspended_until=utcnow() + timedelta(days=1))
                       .execution_options(synchronize_session=False))
    assert not voter.is_suspended
    with pytest.raises(PermissionDenied, match="suspended"):
        votes.set_vote(voter, post, 1, refusal=permissions.vote_refusal)
    db.session.rollback()
    assert post.score == 0


def test_a_vote_locking_its_author_waits_for_no_notification_insert_that_waits_for_its_post(db, make):
    """PostgreSQL: a vote holds its post's row lock, then locks the post's author (reputation).
    Meanwhile a reply's fan-out inserts a notification for that author about that post: the
    insert's foreign-key checks take a key-share lock on the author, then wait for the post.
    With ``FOR UPDATE`` the vote waited for that key-share lock: a deadlock, PostgreSQL aborted one
    of the two (votes answered 500 in bench/pages.py).  ``lock_users`` takes ``FOR NO KEY UPDATE``,
    which key-share locks do not block, and ``lock`` takes it on the post too (``services/locking.py``):
    the insert does not even wait for the post, it commits while the vote holds it."""
    import threading

    from sqlalchemy import insert

    from community.models import Notification, Post
    from community.services import locking

    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's row locks and foreign-key checks (SQLite has one write lock)")
    author = make.user("author")
    thread = make.thread(author=author, title="Sync stops overnight on the desktop client")
    post = make.reply(thread, author=author, body="Turn off sleep while idle.")
    db.session.commit()
    author_id, thread_id, post_id = author.id, thread.id, post.id

    locking.lock(Post, post_id)                                   # the vote's lock on its post
    outcome, engine = {}, db.engine

    def fan_out():
        with engine.connect() as conn:
            try:
                conn.execute(insert(Notification).values(
                    user_id=author_id, kind="reply", message="A new answer", url=f"/threads/{thread_id}",
                    thread_id=thread_id, post_id=post_id, created_at=utcnow()))
                conn.commit()
                outcome["insert"] = "committed"
            except Exception as exc:  # noqa: BLE001 - the deadlock's victim
                outcome["insert"] = repr(exc)

    other = threading.Thread(target=fan_out)
    other.start()
    other.join(timeout=15)          # the post's lock (FOR NO KEY UPDATE) lets the insert's check by
    assert outcome == {"insert": "committed"}, "the notification's insert waited for the vote's post"
    locking.lock_users(author_id)                                 # the vote's lock on the author
    db.session.commit()

