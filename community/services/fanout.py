"""Notification fan-out behind the response: a write's notifications and mail leave its request.

Why: a reply spent most of its time telling people (the asker, the @mentioned, every watcher:
their mutes and preferences read, each "at once" mail rendered, a waiting mail rendered again
with every item) while its author waited (docs/deploy.md, "Writes").

How:

- **In the writer's transaction.**  ``later(event, ...)`` adds one ``outbox`` row (channel
  ``fanout``) holding what the fan-out needs (post, thread, actor, link, the @names of the body,
  the texts as the request saw them).  A committed post always has its row; a rolled-back one
  never has.  Every other write that tells someone (an accepted answer, a ticket's reply or
  status, an idea's comment, status or merge) queues its ``notifications.notify`` calls the
  same way with ``notify_later``: the recipient's mutes, preferences and mail are read and
  written by the applier, not while the writer waits.
- **After the commit.**  The process's *applier*, a daemon thread started on first use in each
  process (after gunicorn forks; ``per_request_starts`` too, like the search queue's), is woken,
  waits ``NOTIFY_FANOUT_GATHER_SECONDS`` (0.1 s) so that the fan-outs of that moment share its
  transactions, and applies the rows.  ``flask mail send`` applies them too before it sends, so mail goes out
  even where no app server runs an applier.  With ``NOTIFY_FANOUT_SYNC`` (default: on under
  ``TESTING``) the rows are applied in the request right after its commit, in a transaction of
  their own, so a test sees the notifications and mail the moment the reply is committed.
- **Applying, exactly once.**  One thread's rows per transaction: take the oldest due rows with
  ``SELECT ... FOR UPDATE SKIP LOCKED`` (PostgreSQL: two appliers never take one row; SQLite:
  the transaction holds the write lock from its start, ``write_intent``), keep the oldest and
  those of its thread (``BATCH`` at most), run their handlers in id order (the same
  ``services/notifications`` calls the request used to make), delete the rows, commit.
  The notifications, their mail and the rows' deletion commit together: a worker that dies
  before the commit leaves the rows (their locks go with its connection) for the next applier,
  and one that dies after has done all of it.  A handler that fails rolls its transaction back;
  its rows are then applied one per transaction, and the failing one is retried later
  (``NOTIFY_FANOUT_BACKOFF_SECONDS``, doubling), kept with its error after
  ``NOTIFY_FANOUT_MAX_ATTEMPTS``.  One transaction per thread's burst, not per reply: a burst of
  replies paid the write lock, the row's read and delete and the commit once each.
- **Rows a dead worker left.**  Every applier looks every ``NOTIFY_FANOUT_POLL_SECONDS`` (one
  ``SELECT ... LIMIT 1``).  A notification arrives once the applier's round after its commit
  ends: milliseconds, at most a poll plus a round when its worker died.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import timedelta

from flask import current_app, has_app_context
from sqlalchemy import delete, event, select, update
from sqlalchemy.orm import Session

from .. import background
from ..background import ProcessThread
from ..extensions import db, write_intent
from ..markup import mentioned_usernames
from ..models import OutboxMessage, Post, Thread, User, utcnow

log = logging.getLogger(__name__)

CHANNEL = "fanout"
#: ``session.info`` flag: this transaction wrote fan-out rows (apply or wake after its commit).
PENDING = "fanout_pending"
_installed = False


# -- in the writer's transaction ---------------------------------------------------------

def later(event_name: str, **payload) -> None:
    """Queue one fan-out in the caller's transaction (applied after its commit)."""
    if event_name not in HANDLERS:
        raise ValueError(f"no fan-out handler {event_name!r}")
    db.session.add(OutboxMessage(channel=CHANNEL, payload={"event": event_name, **payload}))
    db.session.info[PENDING] = True


def reply_posted(thread: Thread, post: Post, actor: User, url: str, body: str) -> None:
    """A reply: the asker, the @mentioned and the watchers hear of it (``_reply``)."""
    later("reply", post_id=post.id, thread_id=thread.id, actor_id=actor.id, url=url, title=thread.title,
          actor_name=actor.username, names=sorted(mentioned_usernames(body)))


def thread_asked(thread: Thread, post: Post, actor: User, url: str, body: str) -> None:
    """A new question: the @mentioned and the watchers of its category and tags (``_thread``)."""
    later("thread", post_id=post.id, thread_id=thread.id, actor_id=actor.id, url=url, title=thread.title,
          actor_name=actor.username, names=sorted(mentioned_usernames(body)))


def mentions_added(thread: Thread, post: Post, actor: User, url: str, body: str, skip_names=(),
                   skip_ids=()) -> None:
    """An edit (or a ticket's reply): the members newly @mentioned, but ``skip_ids`` (``_mentions``)."""
    names = sorted(mentioned_usernames(body) - set(skip_names))
    if names:
        later("mentions", post_id=post.id, thread_id=thread.id, actor_id=actor.id, url=url,
              title=thread.title, actor_name=actor.username, names=names,
              skip_ids=sorted(i for i in skip_ids if i is not None))


def notify_later(user_ids, kind: str, message: str, url: str, *, actor_id: int | None = None,
                 thread_id: int | None = None, post_id: int | None = None, details: dict | None = None) -> int:
    """``notifications.notify`` for ``user_ids`` (one id, None, or several) after the commit, in
    one fan-out row; how many people it may reach (the actor and None are left out here, mutes
    and preferences are read when it is applied)."""
    ids = [user_ids] if user_ids is None or isinstance(user_ids, int) else user_ids
    ids = sorted({user_id for user_id in ids if user_id is not None and user_id != actor_id})
    if ids:
        later("notify", user_ids=ids, kind=kind, message=message[:300], url=url[:300], actor_id=actor_id,
              thread_id=thread_id, post_id=post_id, details=details)
    return len(ids)


# -- the handlers: what the request used to do -------------------------------------------

class _Actor:
    """The actor as the request saw them (``notifications`` reads ``id`` and ``username``)."""

    def __init__(self, payload: dict):
        self.id, self.username = payload["actor_id"], payload["actor_name"]


def _loaded(payload: dict):
    thread = db.session.get(Thread, payload["thread_id"])
    post = db.session.get(Post, payload["post_id"])
    return (thread, post) if thread is not None and post is not None else (None, None)


def _reply(payload: dict) -> None:
    from . import notifications

    thread, post = _loaded(payload)
    if thread is None:
        return   # deleted for good before its fan-out: nobody to tell about it
    actor, url, names = _Actor(payload), payload["url"], set(payload["names"])
    levels = _levels(thread)   # every recipient's mute, read once per transaction
    notifications.notify(thread.author_id, "reply", f"{actor.username} answered “{payload['title']}”", url,
                         actor_id=actor.id, thread_id=thread.id, post_id=post.id, levels=levels)
    mentioned = notifications.ids_named(names) - {thread.author_id}
    notifications.notify_named(names, actor=actor, thread=thread, post=post, url=url,
                               skip_ids={thread.author_id}, title=payload["title"], levels=levels)
    notifications.notify_watchers(thread, post, actor, url, skip_ids={thread.author_id} | mentioned,
                                  title=payload["title"], levels=levels)


#: ``session.info``: {thread id: its ``levels_for``} read in this applier's transaction
#: (``apply_batch`` clears it): a batch's replies to one thread read the levels once.
_LEVELS = "fanout_levels"


def _levels(thread: Thread) -> dict[int, str]:
    """The thread's watch levels, read once per transaction of the applier (notifications do
    not change them)."""
    from .accounts import subscriptions

    cache = db.session.info.setdefault(_LEVELS, {})
    if thread.id not in cache:
        cache[thread.id] = subscriptions.levels_for(thread)
    return cache[thread.id]


def _thread(payload: dict) -> None:
    from . import notifications

    thread, post = _loaded(payload)
    if thread is None:
        return
    actor, url, names = _Actor(payload), payload["url"], set(payload["names"])
    notifications.notify_named(names, actor=actor, thread=thread, post=post, url=url, title=payload["title"])
    notifications.notify_new_thread(thread, post, actor, url, skip_ids=notifications.ids_named(names) | {actor.id},
                                    title=payload["title"])


def _mentions(payload: dict) -> None:
    from . import notifications

    thread, post = _loaded(payload)
    if thread is None:
        return
    notifications.notify_named(set(payload["names"]), actor=_Actor(payload), thread=thread, post=post,
                               url=payload["url"], skip_ids=set(payload.get("skip_ids", ())),
                               title=payload["title"])


def _notify(payload: dict) -> None:
    from . import notifications

    # A thread or post deleted for good since: the notification still goes, without the row.
    thread_id = payload["thread_id"] if payload["thread_id"] and db.session.get(Thread, payload["thread_id"]) else None
    post_id = payload["post_id"] if payload["post_id"] and db.session.get(Post, payload["post_id"]) else None
    for user_id in payload["user_ids"]:
        notifications.notify(user_id, payload["kind"], payload["message"], payload["url"],
                             actor_id=payload["actor_id"], thread_id=thread_id, post_id=post_id,
                             details=payload["details"])


HANDLERS = {"reply": _reply, "thread": _thread, "mentions": _mentions, "notify": _notify}


# -- applying ------------------------------------------------------------------------------

def _due(now):
    return [OutboxMessage.channel == CHANNEL, OutboxMessage.failed_at.is_(None), OutboxMessage.available_at <= now]


#: Fan-outs of one thread applied in one transaction at most (``apply_batch``).
BATCH = 20


def apply_batch(limit: int = BATCH) -> int | None:
    """Apply the oldest due fan-out and the due ones of the same thread among the ``limit``
    oldest, in one transaction (see the module's docstring): how many were applied, None if
    none is due.  One thread: the mail decisions of a thread take its one throttle lock, so a
    transaction holds one, as when each row had its own (``services/locking.py``).  If a handler
    fails, the whole transaction rolls back and each of its rows is applied alone
    (``apply_one``): only the failing one is kept for a retry."""
    with write_intent(), _levels_kept():
        rows = db.session.execute(
            select(OutboxMessage.id, OutboxMessage.payload, OutboxMessage.attempts).where(*_due(utcnow()))
            .order_by(OutboxMessage.id).limit(limit).with_for_update(skip_locked=True)).all()
        if not rows:
            db.session.rollback()
            return None
        thread_id = rows[0].payload.get("thread_id")
        mine = [(row_id, dict(payload), attempts) for row_id, payload, attempts in rows
                if payload.get("thread_id") == thread_id]
        ids = [row_id for row_id, _, _ in mine]
        try:
            for _, payload, _ in mine:
                HANDLERS[payload["event"]](payload)
            _delete(ids)
            db.session.commit()
            return len(ids)
        except Exception as exc:  # noqa: BLE001 - kept for a retry; a batch's rows one by one first
            db.session.rollback()
            if len(mine) == 1:
                log.warning("Fan-out %s failed (attempt %d); retrying later.", ids[0], mine[0][2] + 1,
                            exc_info=True)
                _failed(ids[0], mine[0][2] + 1, exc)
                return 0
            log.info("A batch of %d fan-outs failed; applying them one by one.", len(ids), exc_info=True)
    return sum(bool(apply_one(row_id)) for row_id in ids)


@contextmanager
def _levels_kept():
    """The thread levels ``_levels`` keeps live for one transaction of the applier."""
    db.session.info.pop(_LEVELS, None)
    try:
        yield
    finally:
        db.session.info.pop(_LEVELS, None)


def apply_one(row_id: int | None = None) -> bool | None:
    """Apply the oldest due fan-out (or the row ``row_id``, if still due) in a transaction of its
    own: True if one was applied, False if it failed (kept for a retry), None if none is due."""
    with write_intent(), _levels_kept():
        stmt = select(OutboxMessage).where(*_due(utcnow()))
        if row_id is not None:
            stmt = stmt.where(OutboxMessage.id == row_id)
        row = db.session.execute(stmt.order_by(OutboxMessage.id).limit(1).with_for_update(skip_locked=True)).scalar()
        if row is None:
            db.session.rollback()
            return None
        row_id, payload, attempts = row.id, dict(row.payload), row.attempts
        try:
            HANDLERS[payload["event"]](payload)
            _delete([row_id])
            db.session.commit()
            return True
        except Exception as exc:  # noqa: BLE001 - the row stays, with its error, for a retry
            db.session.rollback()
            log.warning("Fan-out %s failed (attempt %d); retrying later.", row_id, attempts + 1, exc_info=True)
            _failed(row_id, attempts + 1, exc)
            return False


def _delete(row_ids: list[int]) -> None:
    """The applied rows go in the transaction of their notifications."""
    gone = db.session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(row_ids))
                              .execution_options(synchronize_session=False)).rowcount
    if gone != len(row_ids):   # cannot happen under the lock; never commit a second fan-out
        raise RuntimeError(f"fan-outs {row_ids} were taken by another applier")


def _failed(row_id: int, attempts: int, exc: Exception) -> None:
    config = current_app.config
    now = utcnow()
    values = {"attempts": attempts, "last_error": f"{type(exc).__name__}: {exc}"[:1000]}
    if attempts >= config["NOTIFY_FANOUT_MAX_ATTEMPTS"]:
        values["failed_at"] = now
    else:
        delay = min(float(config["NOTIFY_FANOUT_BACKOFF_SECONDS"]) * 2 ** (attempts - 1), 3600.0)
        values["available_at"] = now + timedelta(seconds=delay)
    with write_intent():
        db.session.execute(update(OutboxMessage).where(OutboxMessage.id == row_id).values(**values)
                           .execution_options(synchronize_session=False))
        db.session.commit()


def apply_pending(limit: int = 1000) -> int:
    """Apply what is due now, a thread's rows per transaction (at most ``limit`` transactions); how
    many were applied."""
    done = 0
    for _ in range(limit):
        outcome = apply_batch()
        if outcome is None:
            break
        done += outcome
    return done


def pending() -> int:
    """Fan-outs waiting (failed for good ones included: ``flask mail status`` shows them)."""
    from sqlalchemy import func

    return db.session.execute(select(func.count()).select_from(OutboxMessage)
                              .where(OutboxMessage.channel == CHANNEL)).scalar_one()


class Applier(ProcessThread):
    """The fan-out applier of one app in this process (see the module's docstring; the thread
    itself, started once per process and drained at exit, is ``community/background.py``'s)."""

    thread_name = "notify-fanout"
    failure_message = "Applying the notification fan-out failed; retrying in %.0fs."

    def __init__(self, app):
        super().__init__(float(app.config["NOTIFY_FANOUT_POLL_SECONDS"]),
                         float(app.config.get("NOTIFY_FANOUT_GATHER_SECONDS", 0.0)))
        self.app = app
        sync = app.config.get("NOTIFY_FANOUT_SYNC")
        self.sync = app.testing if sync is None else bool(sync)

    def committed(self) -> None:
        """A transaction that queued fan-outs committed: apply them now (sync) or wake the applier."""
        if self.sync:
            try:
                with self.app.app_context():   # a session of its own: the caller's has just committed
                    apply_pending()
            except Exception:  # noqa: BLE001 - the reply is committed; its rows stay for an applier
                log.exception("Applying the notification fan-out failed; the applier tries again.")
            return
        self.wake()

    def enabled(self) -> bool:
        return not self.sync and bool(self.app.config["NOTIFY_FANOUT_APPLIER"])

    def run_round(self) -> None:
        with self.app.app_context():
            if self._has_rows():
                apply_pending()

    def drain(self) -> None:
        """A worker stopping cleanly applies what is waiting (another would, within a poll)."""
        self.stop(timeout=5.0)
        try:
            with self.app.app_context():
                apply_pending()
        except Exception:  # noqa: BLE001 - at exit: the rows stay for the next applier
            log.warning("The notification fan-out was not applied at exit; the next applier will.", exc_info=True)

    @staticmethod
    def _has_rows() -> bool:
        found = db.session.execute(select(OutboxMessage.id).where(*_due(utcnow())).limit(1)).first()
        db.session.rollback()
        return found is not None


def stop_all(timeout: float = 5.0) -> None:
    """Stop every applier of this process (tests: a dropped database must not be polled)."""
    for applier in background.running(Applier):
        if applier._thread is not None:
            applier.stop(timeout)


# -- wiring -------------------------------------------------------------------------------

def _after_commit(session: Session) -> None:
    if session.in_nested_transaction() or not session.info.pop(PENDING, False) or not has_app_context():
        return
    applier = current_app.extensions.get("fanout")
    if applier is not None:
        applier.committed()


def init_app(app) -> None:
    """One applier per app; every serving process starts it with its first request."""
    global _installed
    applier = Applier(app)
    app.extensions["fanout"] = applier
    if not applier.sync:
        app.before_request(applier.ensure_running)
        app.extensions.setdefault("per_request_starts", []).append(applier.ensure_running)
    if not _installed:
        event.listen(Session, "after_commit", _after_commit)
        _installed = True
