"""Keep the index in step with the database: collect what each transaction changed, index it after commit.

Mapper events (after insert / delete, before update) on Thread, Post and, when
the ideas module exists, Idea record the affected document keys in the
session's ``info``; counters changed with SQL expressions on ORM objects
(``thread.score = Thread.score + 1``) are updates too.  Just before the commit
the keys are queued in ``search_queue`` in the same transaction, and applied
after it, off the request (``queue.py``); a rollback discards them.
PostgreSQL: the keys of *new* documents (a thread, an idea, an article inserted)
and of documents whose visibility changed (hidden, deleted, merged; an article's
state) are written just before the commit, in the same transaction, so a new
question is suggested at once by every app server and a hidden one is gone at
once; the rest (a reply, a vote, an accept, an edit) are queued as for Whoosh.

SQL run outside the ORM (``session.execute(update(Thread)...)``) fires no
mapper events: callers of such statements call :func:`community.search.touch`.
"""
from __future__ import annotations

import logging

from flask import current_app, has_app_context
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, object_session

log = logging.getLogger(__name__)

PENDING = "search_pending_keys"
#: The keys of PENDING that an in-transaction backend (PostgreSQL) writes before the commit.
NOW = "search_keys_now"
QUEUED = "search_queued"
_installed = False


def _collect(session: Session | None, key: str, now: bool = False) -> None:
    if session is not None:
        session.info.setdefault(PENDING, set()).add(key)
        if now:
            session.info.setdefault(NOW, set()).add(key)


def collect(session: Session, keys) -> None:
    """Documents that SQL run outside the ORM changed in ``session``'s open transaction:
    indexed with the rest of it at commit, dropped if it rolls back."""
    for key in keys:
        _collect(session, key)


#: Attributes whose change alters a document; others (view counts, pins) re-index nothing,
#: so that counting a page view does not take the index lock.
THREAD_FIELDS = ("title", "slug", "category_id", "hidden", "deleted", "merged_into_id", "accepted_post_id",
                 "question_post_id", "score", "reply_count", "last_activity_at", "created_at", "tags")
POST_FIELDS = ("body", "body_html", "hidden", "deleted", "thread_id", "is_question")
IDEA_FIELDS = ("title", "slug", "body", "body_html", "status", "vote_count", "category_id", "merged_into_id",
               "response", "response_html", "last_activity_at", "comment_count", "tags", "hidden", "deleted")
#: The attributes whose change makes a document leave or join what search shows: written in the
#: transaction on PostgreSQL, like a new document (see the module's docstring).
VISIBILITY_FIELDS = ("hidden", "deleted", "merged_into_id", "state")


def _changed(target, names) -> bool:
    attrs = inspect(target).attrs
    return any(name in attrs and attrs[name].history.has_changes() for name in names)


def _thread_updated(mapper, connection, target) -> None:
    if _changed(target, THREAD_FIELDS):
        _thread_changed(mapper, connection, target, now=_changed(target, VISIBILITY_FIELDS))


def _post_updated(mapper, connection, target) -> None:
    if _changed(target, POST_FIELDS):
        _post_changed(mapper, connection, target, now=_changed(target, VISIBILITY_FIELDS))


def _idea_updated(mapper, connection, target) -> None:
    if _changed(target, IDEA_FIELDS):
        _idea_changed(mapper, connection, target, now=_changed(target, VISIBILITY_FIELDS))


ARTICLE_FIELDS = ("title", "slug", "body_html", "state", "category_id", "tags", "helpful_yes", "updated_at")


def _article_updated(mapper, connection, target) -> None:
    if _changed(target, ARTICLE_FIELDS):
        _article_changed(mapper, connection, target, now=_changed(target, VISIBILITY_FIELDS))


def _article_changed(mapper, connection, target, now: bool = True) -> None:
    _collect(object_session(target), f"article:{target.id}", now)


def _thread_changed(mapper, connection, target, now: bool = True) -> None:
    _collect(object_session(target), f"thread:{target.id}", now)
    merged_into = getattr(target, "merged_into_id", None)
    if merged_into:  # the target thread may show the merged answers
        _collect(object_session(target), f"thread:{merged_into}", now)


def _post_changed(mapper, connection, target, now: bool = True) -> None:
    if target.thread_id is not None:
        _collect(object_session(target), f"thread:{target.thread_id}", now)


def _post_inserted(mapper, connection, target) -> None:
    """A reply updates its thread's document: queued (its question comes with a new thread)."""
    _post_changed(mapper, connection, target, now=False)


def _idea_changed(mapper, connection, target, now: bool = True) -> None:
    _collect(object_session(target), f"idea:{target.id}", now)
    if getattr(target, "merged_into_id", None):
        _collect(object_session(target), f"idea:{target.merged_into_id}", now)


def _evidence_changed(mapper, connection, target) -> None:
    """A learned-evidence row (search/learned.py) changes its thread's ``learned`` field."""
    _collect(object_session(target), f"thread:{target.thread_id}", now=False)


def _in_savepoint(session: Session) -> bool:
    """Whether the transaction ending is a savepoint: the outer one still holds the rows and the lock."""
    return session.in_nested_transaction()


def _before_commit(session: Session) -> None:
    """The changed documents' keys go into ``search_queue`` in this transaction; PostgreSQL writes
    the new ones and those whose visibility changed themselves, in this transaction."""
    if _in_savepoint(session) or not has_app_context():
        return
    state = current_app.extensions.get("search")
    if state is None:
        return
    in_transaction = getattr(state, "in_transaction", False)
    queue = getattr(state, "queue", None)
    if not in_transaction and queue is None:
        return
    if session.info.get(PENDING) or session.new or session.dirty or session.deleted:
        session.flush()  # collects the keys of what is still unflushed
    keys = session.info.pop(PENDING, None)
    now = session.info.pop(NOW, set())
    if not keys or state.paused:
        return
    later = keys if not in_transaction else (keys - now if queue is not None else set())
    if keys - later:
        state.write(session, keys - later)
    if later:
        from .queue import enqueue

        enqueue(session, later)
        session.info[QUEUED] = True


def _after_commit(session: Session) -> None:
    # SQLAlchemy fires after_commit when a savepoint is released too; applying then would
    # read uncommitted rows elsewhere (and on SQLite wait on the lock this session holds).
    if _in_savepoint(session):
        return
    queued = session.info.pop(QUEUED, False)
    # Keys collected after _before_commit ran (an object another before_commit listener added,
    # flushed by the commit itself) were not queued: they are re-indexed here, as before the queue.
    keys = session.info.pop(PENDING, None)
    session.info.pop(NOW, None)
    if not (queued or keys) or not has_app_context():
        return
    state = current_app.extensions.get("search")
    if state is None or state.paused:
        return
    try:
        if queued:
            state.queue.committed()
        elif not getattr(state, "in_transaction", False):
            state.reindex(keys)
    except Exception:  # the commit succeeded; search must not turn it into an error page
        log.exception("Re-indexing failed; `flask search rebuild` repairs it.")


def _discard(session: Session, *args) -> None:
    if not _in_savepoint(session):  # keys of the outer transaction stay; extra keys only re-read rows
        session.info.pop(PENDING, None)
        session.info.pop(NOW, None)
        session.info.pop(QUEUED, None)  # the queue rows rolled back with the transaction


def install() -> None:
    """Register the listeners once per process (they find the app through ``current_app``)."""
    global _installed
    if _installed:
        return
    from ..models import Article, Post, SearchEvidence, Thread
    from .documents import idea_model

    handlers = [(Thread, _thread_changed, _thread_updated, _thread_changed),
                (Post, _post_inserted, _post_updated, _post_changed),
                (Article, _article_changed, _article_updated, _article_changed),
                (SearchEvidence, _evidence_changed, _evidence_changed, _evidence_changed)]
    Idea = idea_model()
    if Idea is not None:
        handlers.append((Idea, _idea_changed, _idea_updated, _idea_changed))
    for model, inserted, updated, deleted in handlers:
        event.listen(model, "after_insert", inserted)
        # before_update: the attribute history is intact (a counter set to a SQL
        # expression is expired by the time after_update runs).
        event.listen(model, "before_update", updated)
        event.listen(model, "after_delete", deleted)
    event.listen(Session, "before_commit", _before_commit)
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_rollback", _discard)
    _installed = True
