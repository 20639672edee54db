"""The mail worker: claim due outbox rows atomically, send them, retry with backoff.

A row is claimed with a conditional UPDATE (``claimed_by IS NULL`` or a claim
older than ``MAIL_CLAIM_TIMEOUT_SECONDS``), committed before sending, so two
workers never hold one row.  After a send the row is marked sent in a commit
whose UPDATE is conditional on the claim still being this worker's.  A failure
waits ``MAIL_BACKOFF_SECONDS * 2**(attempts-1)`` (capped) and after
``MAIL_MAX_ATTEMPTS`` the row is marked failed, kept with its error for admins.
A notification mail that would pass its member's daily ceiling (counted under a lock per
member as it is claimed) is held back: marked done with ``HELD_BACK``, never sent.
A worker that dies between the SMTP hand-off and its commit leaves the claim to
expire, and that one message may go out twice: at-least-once, the only
guarantee SMTP allows.
"""
from __future__ import annotations

import os
import socket
import time
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, func, or_, select, update

from ... import mail
from ...extensions import db, write_intent
from ...models import OutboxMessage, utcnow
from ..locking import advisory
from . import notify
from .messages import CHANNEL, redacted

#: Rows that are a request the worker turns into a mail (``services/accounts/reset.py``).
RESOLVED_KIND = "password_reset_request"
NOTHING_TO_SEND = "nothing sent: no account has this address, or the request expired before sending"
#: A notification mail not sent: its member had their day's share (``MAIL_DAILY_LIMIT_PER_USER``).
HELD_BACK = "held back: the member's daily ceiling of notification mails was reached"
MEMBER_GONE = "nothing sent: the member's account was deleted before the mail went"


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{time.monotonic_ns() % 100000}"


def backoff_seconds(attempts: int) -> float:
    """Delay after ``attempts`` failed tries: base * 2**(attempts-1), capped."""
    cfg = current_app.config
    return min(float(cfg["MAIL_BACKOFF_SECONDS"]) * (2 ** max(attempts - 1, 0)),
               float(cfg["MAIL_BACKOFF_MAX_SECONDS"]))


def _due(now):
    stale = now - timedelta(seconds=current_app.config["MAIL_CLAIM_TIMEOUT_SECONDS"])
    return [OutboxMessage.channel == CHANNEL, OutboxMessage.sent_at.is_(None),
            OutboxMessage.failed_at.is_(None), OutboxMessage.available_at <= now,
            or_(OutboxMessage.claimed_by.is_(None), OutboxMessage.claimed_at < stale)]


def claim_next(worker: str) -> OutboxMessage | None:
    """Take one due row for ``worker`` and commit the claim; None when nothing is due.  A
    notification mail past its member's daily ceiling is held back instead (``_over_ceiling``)."""
    lost = 0
    while lost < 10:   # another worker may win a candidate: try the next
        now = utcnow()
        with write_intent():
            candidate = db.session.execute(
                select(OutboxMessage.id, OutboxMessage.user_id, OutboxMessage.throttle_key).where(*_due(now))
                .order_by(OutboxMessage.available_at, OutboxMessage.id).limit(1)
            ).first()
            if candidate is None:
                db.session.rollback()
                return None
            held = _over_ceiling(candidate, now)
            values = {"sent_at": now, "last_error": HELD_BACK} if held else {}
            won = db.session.execute(
                update(OutboxMessage).where(OutboxMessage.id == candidate.id, *_due(now))
                .values(claimed_by=None if held else worker, claimed_at=None if held else now, **values)
                .execution_options(synchronize_session=False)).rowcount
            db.session.commit()
        if won == 1 and not held:
            return db.session.get(OutboxMessage, candidate.id)
        lost += won != 1


def _over_ceiling(candidate, now) -> bool:
    """Whether a notification mail would pass its member's ``MAIL_DAILY_LIMIT_PER_USER``: the
    mails to them sent in the last 24 hours plus those other workers hold now.  The queue checks
    the ceiling too, but without a lock across members (two posts notifying the same people in
    another order would deadlock), so concurrent events can queue past it; this check is the
    guarantee.  It runs under an advisory lock per member until the claim commits (PostgreSQL;
    SQLite serializes writers), one lock per transaction, so claims for one member are counted
    one after the other and never deadlock."""
    from .notify import KEY_PREFIX

    if candidate.user_id is None or not (candidate.throttle_key or "").startswith(KEY_PREFIX):
        return False
    advisory(f"mail-ceiling:{candidate.user_id}")
    counted = db.session.execute(
        select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.user_id == candidate.user_id, OutboxMessage.channel == CHANNEL,
            OutboxMessage.throttle_key.startswith(KEY_PREFIX, autoescape=True), OutboxMessage.id != candidate.id,
            or_(and_(OutboxMessage.sent_at >= now - timedelta(days=1), OutboxMessage.last_error.is_(None)),
                and_(OutboxMessage.sent_at.is_(None), OutboxMessage.claimed_by.is_not(None))))).scalar_one()
    return counted >= current_app.config["MAIL_DAILY_LIMIT_PER_USER"]


def _resolve(message: OutboxMessage, worker: str) -> dict | None:
    """A queued request (a password reset) becomes the mail it asks for, stored in place of the
    request in one commit with what it created; None when there is nothing to send."""
    from ..accounts import reset

    with write_intent():
        payload = reset.resolve_request(dict(message.payload))
        if payload is None:
            db.session.rollback()
            return None
        changed = db.session.execute(
            update(OutboxMessage).where(OutboxMessage.id == message.id, OutboxMessage.claimed_by == worker)
            .values(payload=payload).execution_options(synchronize_session=False)).rowcount
        if changed != 1:
            db.session.rollback()
            return {}
        db.session.commit()
    return payload


def send_one(message: OutboxMessage, worker: str) -> str:
    """Send one claimed row; returns ``sent``, ``retry``, ``failed``, ``skipped`` (a request with
    nothing to send) or ``lost`` (the claim was taken over)."""
    payload = dict(message.payload)
    if payload.get("kind") == RESOLVED_KIND:
        payload = _resolve(message, worker)
        if payload is None:
            return _finish(message, worker, NOTHING_TO_SEND, skipped=True)
        if not payload:
            return "lost"
    store = False
    if payload.get(notify.STALE):   # a batched notification mail: rendered once, now, with every item
        payload, store = notify.rendered(payload), True
        if payload is None:
            return _finish(message, worker, MEMBER_GONE, skipped=True)
    error = None
    try:
        mail.send(mail.build(payload))
    except mail.MailError as exc:
        error = str(exc)[:1000]
    except (KeyError, TypeError, ValueError) as exc:   # a malformed row: no retry will fix it
        error = f"unusable message: {type(exc).__name__}: {exc}"[:1000]
        return _finish(message, worker, error, give_up=True)
    return _finish(message, worker, error, payload=payload, store=store)


def _finish(message: OutboxMessage, worker: str, error: str | None, give_up: bool = False,
            skipped: bool = False, payload: dict | None = None, store: bool = False) -> str:
    """Record a send's outcome (``store``: keep ``payload``, rendered by the worker, in the row)."""
    now = utcnow()
    attempts = message.attempts + 1
    values = {"attempts": attempts, "claimed_by": None, "claimed_at": None, "last_error": error}
    if skipped:
        values["sent_at"], outcome = now, "skipped"
    elif error is None:
        values["sent_at"], outcome = now, "sent"
        if payload and payload.get("secret"):
            values["payload"] = redacted(payload)
    elif give_up or attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]:
        values["failed_at"], outcome = now, "failed"
    else:
        values["available_at"], outcome = now + timedelta(seconds=backoff_seconds(attempts)), "retry"
    if store and payload and "payload" not in values:   # rendered by this worker: kept as sent
        values["payload"] = payload
    with write_intent():
        changed = db.session.execute(
            update(OutboxMessage).where(OutboxMessage.id == message.id, OutboxMessage.claimed_by == worker)
            .values(**values).execution_options(synchronize_session=False)).rowcount
        db.session.commit()
    return outcome if changed == 1 else "lost"


def send_due(worker: str | None = None, *, limit: int = 500) -> dict:
    """Send what is due now (at most ``limit``); returns counts by outcome.  The notification
    fan-outs waiting are applied first (``services/fanout.py``): their mail is among what is due,
    and a mail worker alone keeps notifications flowing while no app server runs an applier."""
    from .. import fanout

    fanout.apply_pending()
    worker = worker or worker_name()
    counts = {"sent": 0, "retry": 0, "failed": 0, "skipped": 0, "lost": 0}
    for _ in range(limit):
        message = claim_next(worker)
        if message is None:
            break
        counts[send_one(message, worker)] += 1
    return counts


def next_due_in() -> float | None:
    """Seconds until the next pending mail is due (the ``--loop`` worker's sleep)."""
    soonest = db.session.execute(
        select(OutboxMessage.available_at).where(
            OutboxMessage.channel == CHANNEL, OutboxMessage.sent_at.is_(None),
            OutboxMessage.failed_at.is_(None)).order_by(OutboxMessage.available_at).limit(1)).scalar()
    db.session.rollback()
    return None if soonest is None else max((soonest - utcnow()).total_seconds(), 0.0)


def failed(limit: int = 100):
    """Mail that kept failing, newest first, with its last error (for admins)."""
    return list(db.session.execute(
        select(OutboxMessage).where(OutboxMessage.channel == CHANNEL, OutboxMessage.failed_at.is_not(None))
        .order_by(OutboxMessage.id.desc()).limit(limit)).scalars())


def held_back_count(days: int = 1) -> int:
    """Notification mails held back at the daily ceiling in the last ``days`` (``mail status``)."""
    return db.session.execute(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.channel == CHANNEL, OutboxMessage.last_error == HELD_BACK,
        OutboxMessage.sent_at >= utcnow() - timedelta(days=days))).scalar_one()


def pending_count() -> int:
    return db.session.execute(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.channel == CHANNEL, OutboxMessage.sent_at.is_(None),
        OutboxMessage.failed_at.is_(None))).scalar_one()
