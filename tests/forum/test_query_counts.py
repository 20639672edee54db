"""No N+1: the number of SQL statements a page runs does not grow with its content."""
from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from community.services.forum import accepting, votes


@contextmanager
def counting(engine):
    statements = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


def thread_with(db, make, replies: int, tag: str):
    category = make.category(f"Category {tag}")
    thread = make.thread(category=category, tags=[tag, "common"])
    voter = make.user(f"voter{tag}")
    posts = [make.reply(thread, author=make.user(f"helper{tag}x{i}")) for i in range(replies)]
    for post in posts[::2]:
        votes.set_vote(voter, post, 1)
    accepting.accept(thread.author, thread, posts[1])
    for post in posts[:3]:
        post.edited_by_id = voter.id
    db.session.commit()
    return thread, voter


def page_statements(app, db, url, login_as=None):
    client = app.test_client()
    if login_as is not None:
        client.post("/login", data={"login": login_as.username, "password": "password123"})
    client.get(url)                      # first view writes the view count: warm up past it
    db.session.expire_all()
    with counting(db.engine) as statements:
        response = client.get(url)
    assert response.status_code == 200
    return len(statements)


@pytest.mark.parametrize("viewer", ["anonymous", "member"])
def test_thread_page_queries_do_not_grow_with_replies(app, db, make, viewer):
    small, voter_small = thread_with(db, make, 5, "small")
    large, voter_large = thread_with(db, make, 30, "large")
    as_small = voter_small if viewer == "member" else None
    as_large = voter_large if viewer == "member" else None
    n_small = page_statements(app, db, f"/threads/{small.id}/{small.slug}", as_small)
    n_large = page_statements(app, db, f"/threads/{large.id}/{large.slug}", as_large)
    assert n_small == n_large, (n_small, n_large)
    assert n_small < 20


def listing(db, make, n: int, name: str):
    category = make.category(name)
    for i in range(n):
        author = make.user(f"{name.lower()}author{i}")
        thread = make.thread(author=author, category=category, title=f"Question {i} in {name}",
                             tags=[f"tag{i % 7}", "common"])
        if i % 3 == 0:
            accepting.accept(author, thread, make.reply(thread))
    db.session.commit()
    return category


@pytest.mark.parametrize("path", ["/categories/{slug}", "/categories/{slug}?sort=votes", "/tags/common", "/"])
def test_listing_queries_do_not_grow_with_threads(app, db, make, path):
    small = listing(db, make, 5, "Small")
    n_small = page_statements(app, db, path.format(slug=small.slug))
    large = listing(db, make, 40, "Large")
    n_large = page_statements(app, db, path.format(slug=large.slug))
    assert n_small == n_large, (n_small, n_large)
    assert n_small < 15


def test_profile_queries_do_not_grow_with_activity(app, db, make):
    quiet, busy = make.user("quiet"), make.user("busy")
    for user, n in ((quiet, 2), (busy, 12)):
        for i in range(n):
            thread = make.thread(author=user, title=f"{user.username} question {i} here")
            make.reply(make.thread(title=f"Other question {user.username} {i}"), author=user)
            votes.set_vote(make.user(), thread.posts[0], 1)
        db.session.commit()
    n_quiet = page_statements(app, db, "/users/quiet")
    n_busy = page_statements(app, db, "/users/busy")
    assert n_quiet == n_busy, (n_quiet, n_busy)


def test_a_vote_from_zero_neither_reads_the_ledger_to_reverse_nor_updates_the_vote_it_inserted(app, db, make):
    """A vote at 0 stands for no ledger rows (``flask check``'s vote_ledger rule), so a first vote
    or one cast again after a withdrawal reverses nothing: no read of open rows.  A first vote is
    inserted with its value: no UPDATE of the row just written.  Withdrawing still reverses, in one
    ``INSERT ... SELECT`` that reads the open rows and writes their reversals."""
    from community.models import ReputationEvent, User, Vote
    from sqlalchemy import func, select

    thread = make.thread(author=make.user("asked"))
    answer = make.reply(thread, author=make.user("answered"))
    voter = make.user("voting")
    db.session.commit()

    def cast(value):
        with counting(db.engine) as statements:
            votes.set_vote(voter, answer, value)
        db.session.commit()
        return [" ".join(s.split()).upper() for s in statements]

    def open_reads(statements):
        return [s for s in statements if s.startswith(("SELECT", "INSERT")) and " AS REVERSAL " in s]

    first = cast(1)
    assert not open_reads(first)
    assert not [s for s in first if s.startswith("UPDATE VOTES")]
    assert [s for s in first if s.startswith("INSERT INTO VOTES")]
    withdrawn = cast(0)
    assert [s.split(" (")[0] for s in open_reads(withdrawn)] == ["INSERT INTO REPUTATION_EVENTS"]
    again = cast(1)
    assert not open_reads(again)
    assert db.session.get(Vote, db.session.execute(select(Vote.id)).scalar_one()).value == 1
    open_points = db.session.execute(
        select(func.sum(ReputationEvent.points)).where(ReputationEvent.user_id == answer.author_id)).scalar_one()
    assert open_points == db.session.get(User, answer.author_id).reputation_points == 10
