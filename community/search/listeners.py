"""Keep the index in step with the database: collect what each transaction changed, index it after commit.

Mapper events (after insert / update / delete) on Thread, Post and, when
the ideas module exists, Idea record the affected document keys in the
session's ``info``; counters changed with SQL expressions on ORM objects
(``thread.score = Thread.score + 1``) are updates too.  After a successful
commit the keys are re-indexed from the database; a rollback discards them.

SQL run outside the ORM (``session.execute(update(Thread)...)``) fires no
mapper events: callers of such statements call :func:`community.search.touch`.
"""
from __future__ import annotations

import logging

from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session, object_session

log = logging.getLogger(__name__)

PENDING = "search_pending_keys"
_installed = False


def _collect(session: Session | None, key: str) -> None:
    if session is not None:
        session.info.setdefault(PENDING, set()).add(key)


def _thread_changed(mapper, connection, target) -> None:
    _collect(object_session(target), f"thread:{target.id}")
    merged_into = getattr(target, "merged_into_id", None)
    if merged_into:  # the target thread may show the merged answers
        _collect(object_session(target), f"thread:{merged_into}")


def _post_changed(mapper, connection, target) -> None:
    if target.thread_id is not None:
        _collect(object_session(target), f"thread:{target.thread_id}")


def _idea_changed(mapper, connection, target) -> None:
    _collect(object_session(target), f"idea:{target.id}")
    if getattr(target, "merged_into_id", None):
        _collect(object_session(target), f"idea:{target.merged_into_id}")


def _after_commit(session: Session) -> None:
    keys = session.info.pop(PENDING, None)
    if not keys or not has_app_context():
        return
    state = current_app.extensions.get("search")
    if state is None or state.paused:
        return
    try:
        state.reindex(keys)
    except Exception:  # the commit succeeded; search must not turn it into an error page
        log.exception("Re-indexing %d documents failed; `flask search rebuild` repairs it.", len(keys))


def _discard(session: Session, *args) -> None:
    session.info.pop(PENDING, None)


def install() -> None:
    """Register the listeners once per process (they find the app through ``current_app``)."""
    global _installed
    if _installed:
        return
    from ..models import Post, Thread
    from .documents import idea_model

    for model, handler in ((Thread, _thread_changed), (Post, _post_changed)):
        for name in ("after_insert", "after_update", "after_delete"):
            event.listen(model, name, handler)
    Idea = idea_model()
    if Idea is not None:
        for name in ("after_insert", "after_update", "after_delete"):
            event.listen(Idea, name, _idea_changed)
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_rollback", _discard)
    _installed = True
