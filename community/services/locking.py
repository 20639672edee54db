"""Row locks for writes that read state and then act on it.

Two identical requests at once (a double-clicked accept, a script voting 8
times) must change state once.  On PostgreSQL the services re-read the rows
they are about to change with ``SELECT ... FOR NO KEY UPDATE``; the second request
waits for the first to commit, then sees its result.  On SQLite ``FOR UPDATE``
is omitted by the dialect; there a writing request's transaction begins with
``BEGIN IMMEDIATE`` (``extensions.configure_sqlite_connections``), which
serializes writers for the whole transaction, or, in a view marked
``extensions.locks_late``, every lock here takes that write lock first
(``write_lock``), so its reads before the first lock run beside other writers.

Lock order, to keep PostgreSQL free of deadlocks (issue 17): every write takes its locks in
this order, never going back up it, and several of one kind at once, in id (or name) order:

1. a visitor's ask-session names (``ask-session:user:``, then ``ask-session:visitor:``:
   ``start_or_resume_session``, before it reads or writes the session's row);
2. the AskSession row or the idea row the write is about (``lock(AskSession)``, a session's
   ``UPDATE``, the ideas' ``FOR [NO KEY] UPDATE``);
3. a visitor's ``deflection-credit:`` names (sorted), then ``deflection-address-cap:``;
4. threads (by id), 5. posts (by id), 6. users (by id, ``lock_users``: all at once where it
   can; the ledger's ``award`` then finds them held);
7. last, at most one of each per transaction: the mail throttle of one thread
   (``notify:thread:<id>``, the fan-out applier's mail decisions: one lock for the whole
   thread, not one per person, since a fan-out tells its people in its own order), the mail
   ceiling of one member (``mail-ceiling:<id>``, the sending worker's claim, a transaction of
   its own), and the search documents' keys (``search/postgres.py``, sorted, in
   ``before_commit``, after every other lock of the transaction).

What each write takes, in that order: a vote on an answer: post, author and voter (a question's
vote: the thread first); an accept, a change or a withdrawal: thread, post, the asker and the
authors; a reply: the thread's counter (an ``UPDATE``, after the post's insert); a delete, a flag,
a moderation action, an escalation: thread, post; a merge or a duplicate: both threads; a
knowledge-base promotion: the thread, then the answer's author; an idea merge: both ideas
``FOR UPDATE`` (in id order, on purpose: a vote, follow or link naming them waits for it), then the
authors; a link or a follow of an idea: the idea ``FOR KEY SHARE`` (``share``); account
settings, deletion, SSO link: the user; a deflection confirmation: its session (``UPDATE``),
the visitor's names, the address cap, the answer's author; the inferred-credit job: the session, the visitor's names,
the address cap, the author; a question or support request ending a session: the session
(``UPDATE``), the visitor's names, the credited authors (the ledger's reversal).

Row locks are ``FOR NO KEY UPDATE`` (``key_share=True``): they serialize the writers of a row
but not the inserts that only reference it.  A foreign key key-share-locks its parent row, and
``FOR UPDATE`` waited for that: a vote on an answer (no thread lock) holding its users then
inserting its ledger row (``thread_id``) waited for an accept holding the thread and waiting
for those users, a deadlock answered 500 (``tests/platform/test_lock_order.py``).
"""
from __future__ import annotations

import hashlib

from sqlalchemy import func, select

from ..extensions import begin_immediate, db
from ..models import User


def write_lock() -> None:
    """On SQLite, take the database's write lock now unless this transaction holds it (a
    ``locks_late`` request, or a GET that writes, read outside one until here); nothing on
    PostgreSQL, where the row locks serialize the writers that meet."""
    if db.session.get_bind().dialect.name == "sqlite":
        begin_immediate(db.session.connection())


def lock(model, ident):
    """Re-read one row under a row lock and refresh the session's object; None if gone."""
    write_lock()
    return db.session.execute(
        select(model).where(model.id == ident).with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def share(model, ident):
    """Re-read one row under a key-share lock (PostgreSQL ``FOR KEY SHARE``; SQLite: the write
    lock) and refresh the session's object; None if gone.  For a write that inserts a row naming
    it after checking its state: it waits only for a writer holding the row ``FOR UPDATE`` (an idea
    being merged), which that insert's foreign key waited for anyway, and then reads what that
    writer committed, where the check made before had let the row land on a closed duplicate."""
    write_lock()
    return db.session.execute(
        select(model).where(model.id == ident).with_for_update(read=True, key_share=True)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def lock_many(model, idents) -> list:
    """Lock several rows of one table, in id order; returns the refreshed objects."""
    ids = sorted({i for i in idents if i is not None})
    if not ids:
        return []
    write_lock()
    return list(db.session.execute(
        select(model).where(model.id.in_(ids)).order_by(model.id).with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).scalars())


def lock_users(*user_ids, refresh: bool = False) -> None:
    """Lock the users whose reputation a write changes (the daily cap reads, then adds).  Users
    this (innermost) transaction has locked already are not locked again: a vote locked its
    author and voter, then each award locked the author a second time.  ``refresh``: the same
    statement re-reads their rows into the session's objects, for a check made again under it.
    Either way the statement reads their daily cap counters (``held_cap``)."""
    ids = sorted({i for i in user_ids if i is not None} - _users_held().keys())
    if ids:
        write_lock()
        stmt = select(User) if refresh else select(User.id, User.cap_day, User.cap_points)
        # FOR NO KEY UPDATE: what an UPDATE of the reputation takes.  FOR UPDATE also waited for
        # the foreign-key checks of rows inserted for these users (a fan-out's notifications),
        # whose transaction could be waiting for the post this one locked: a deadlock.
        stmt = stmt.where(User.id.in_(ids)).order_by(User.id).with_for_update(key_share=True)
        result = db.session.execute(stmt.execution_options(populate_existing=True) if refresh else stmt)
        rows = result.scalars() if refresh else result
        held = _users_held()   # the statement began the transaction if none was open
        for row in rows:
            held[row.id] = [row.cap_day, row.cap_points]


def held_cap(user_id: int) -> list | None:
    """``[cap_day, cap_points]`` of a user this transaction holds (``lock_users``), as read under the
    lock and kept up to date by ``reputation``'s writes since; None when not held."""
    return _users_held().get(user_id)


#: ``session.info``: (the innermost transaction, {user id it locked: [cap_day, cap_points]}).
_USERS_HELD = "locked_user_ids"


def _users_held() -> dict[int, list]:
    """The users the session's innermost transaction has locked, with their cap counters (a
    savepoint rolled back may have lost its locks and writes: its own map went with it; back in
    the outer transaction the map starts empty again, and users are locked and read again)."""
    return _held(_USERS_HELD, dict)


def _held(name: str, empty):
    """What the session's innermost transaction holds of one kind (``session.info[name]``), made
    with ``empty()`` when that transaction holds none yet (see ``_users_held``)."""
    session = db.session()
    transaction = session.get_nested_transaction() or session.get_transaction()
    if transaction is None:
        return empty()
    owner, held = session.info.get(name, (None, None))
    if owner is not transaction:
        held = empty()
        session.info[name] = (transaction, held)
    return held


#: ``session.info``: (the innermost transaction, the advisory names it holds).
_ADVISORY_HELD = "advisory_names_held"


def upsert(model, key: dict, values: dict, on_insert: dict | None = None) -> None:
    """Insert the row, or update ``values`` where its primary key exists: one atomic statement
    (``ON CONFLICT DO UPDATE`` on both databases).  ``on_insert``: columns set only by the insert.

    Reading the row first and adding it when missing let two requests at once both find nothing
    (``SELECT ... FOR UPDATE`` locks no row that is not there yet), and the second insert was a
    primary-key violation, a 500.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(model).values(**key, **values, **(on_insert or {})).on_conflict_do_update(
        index_elements=list(key), set_=values)
    db.session.execute(stmt)
    row = db.session.identity_map.get(db.session.identity_key(model, tuple(key.values())))
    if row is not None:
        db.session.expire(row)   # a row this session had loaded reads the stored value again


def advisory(name: str) -> None:
    """A transaction-long lock on ``name`` (PostgreSQL ``pg_advisory_xact_lock``).  On SQLite the
    write lock serializes writers: a writing request's transaction holds it from its start
    (``BEGIN IMMEDIATE``); a GET that writes (an ask session started on the page) reads outside
    a transaction until its first write, so here it takes the write lock before it reads."""
    write_lock()
    if db.session.get_bind().dialect.name != "postgresql":
        return
    held = _held(_ADVISORY_HELD, set)
    if name in held:
        return   # held to the end of this transaction already (a fan-out batch's mail decisions)
    key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
    db.session.execute(select(func.pg_advisory_xact_lock(key)))
    if db.session().get_transaction() is not None:   # the statement began one if none was open
        _held(_ADVISORY_HELD, set).add(name)
