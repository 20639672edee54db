"""The outbound ticket webhook: the one module that talks HTTP to a helpdesk.

``enqueue`` writes an outbox row (channel ``webhook``) in the caller's
transaction, so a change and its notification commit or roll back together.
``deliver_due`` is the worker: it claims rows atomically (a conditional
UPDATE; a claim older than ``WEBHOOK_CLAIM_TIMEOUT_SECONDS`` is retaken), POSTs
the JSON signed with HMAC-SHA256, and retries with exponential backoff until
``WEBHOOK_MAX_ATTEMPTS``, then marks the row failed.  Every attempt is logged in
``webhook_attempts`` for the admins' delivery log.

Receivers verify ``X-Community-Signature: sha256=<hex>`` = HMAC-SHA256(secret,
raw body).  The body carries ``timestamp`` (also in ``X-Community-Timestamp``),
so a replayed old delivery can be refused; ``delivery_id`` lets a receiver
ignore a repeat after a lost response.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import time
import urllib.error
import urllib.request
from datetime import timedelta

from flask import current_app
from sqlalchemy import or_, select, update

from ...extensions import db
from ...models import OutboxMessage, Ticket, WebhookAttempt, utcnow

CHANNEL = "webhook"
SIGNATURE_HEADER = "X-Community-Signature"
TIMESTAMP_HEADER = "X-Community-Timestamp"


def enabled() -> bool:
    return bool(current_app.config.get("TICKET_WEBHOOK_URL"))


def enqueue(ticket: Ticket, event: str) -> OutboxMessage | None:
    """Queue a ``ticket.created`` / ``ticket.updated`` delivery (no-op when not configured)."""
    if not enabled():
        return None
    from .payloads import staff_view  # local: payloads import forum, which is heavy

    db.session.flush()
    message = OutboxMessage(channel=CHANNEL, payload={
        "event": event, "ticket": staff_view(ticket, include_email=True)})
    db.session.add(message)
    return message


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """What a receiver does (used by the tests and documented for integrators)."""
    return bool(header) and hmac.compare_digest(sign(secret, body), header)


def backoff_seconds(attempts: int) -> float:
    """Delay before the next try after ``attempts`` failed ones: base * 2**(attempts-1), capped."""
    cfg = current_app.config
    return min(float(cfg["WEBHOOK_BACKOFF_SECONDS"]) * (2 ** max(attempts - 1, 0)),
               float(cfg["WEBHOOK_BACKOFF_MAX_SECONDS"]))


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{time.monotonic_ns() % 100000}"


# -- the worker ---------------------------------------------------------------------

def claim_next(worker: str) -> OutboxMessage | None:
    """Atomically take one due row.  Commits the claim so other workers see it at once."""
    now = utcnow()
    stale = now - timedelta(seconds=current_app.config["WEBHOOK_CLAIM_TIMEOUT_SECONDS"])
    due = [OutboxMessage.channel == CHANNEL, OutboxMessage.sent_at.is_(None),
           OutboxMessage.failed_at.is_(None), OutboxMessage.available_at <= now,
           or_(OutboxMessage.claimed_by.is_(None), OutboxMessage.claimed_at < stale)]
    for _ in range(5):  # another worker may win the race for the candidate; try the next
        candidate = db.session.execute(
            select(OutboxMessage.id).where(*due).order_by(OutboxMessage.available_at,
                                                          OutboxMessage.id).limit(1)
        ).scalar()
        if candidate is None:
            db.session.rollback()
            return None
        won = db.session.execute(
            update(OutboxMessage).where(OutboxMessage.id == candidate, *due)
            .values(claimed_by=worker, claimed_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()
        if won == 1:
            return db.session.get(OutboxMessage, candidate)
    return None


def deliver_one(message: OutboxMessage, worker: str) -> bool:
    """POST one claimed row and record the outcome; True when the receiver said 2xx."""
    cfg = current_app.config
    url, secret = cfg.get("TICKET_WEBHOOK_URL"), cfg.get("TICKET_WEBHOOK_SECRET") or ""
    attempt = message.attempts + 1
    timestamp = int(time.time())
    body = json.dumps({**message.payload, "delivery_id": message.id, "attempt": attempt,
                       "timestamp": timestamp}, separators=(",", ":"), sort_keys=True).encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": "support-community-webhook/1",
        SIGNATURE_HEADER: sign(secret, body), TIMESTAMP_HEADER: str(timestamp),
        "X-Community-Event": message.payload.get("event", ""),
        "X-Community-Delivery": str(message.id)})
    started = time.monotonic()
    status, error = None, None
    try:
        with urllib.request.urlopen(request, timeout=cfg["WEBHOOK_TIMEOUT_SECONDS"]) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status, error = exc.code, f"HTTP {exc.code} {exc.reason}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        error = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
    ok = status is not None and 200 <= status < 300
    elapsed = int((time.monotonic() - started) * 1000)
    now = utcnow()
    db.session.add(WebhookAttempt(outbox_id=message.id, attempt=attempt, worker=worker[:80],
                                  status_code=status, ok=ok, error=(error or None) and error[:1000],
                                  duration_ms=elapsed, created_at=now))
    message.attempts = attempt
    message.claimed_by = None
    message.claimed_at = None
    if ok:
        message.sent_at = now
        message.last_error = None
    else:
        message.last_error = (error or f"HTTP {status}")[:1000]
        if attempt >= cfg["WEBHOOK_MAX_ATTEMPTS"]:
            message.failed_at = now
        else:
            message.available_at = now + timedelta(seconds=backoff_seconds(attempt))
    db.session.commit()
    return ok


def deliver_due(worker: str | None = None, *, limit: int = 100) -> dict:
    """Deliver what is due now; returns counts.  Rows not yet due are left for later."""
    worker = worker or worker_name()
    counts = {"sent": 0, "retry": 0, "failed": 0}
    if not enabled():
        return counts
    for _ in range(limit):
        message = claim_next(worker)
        if message is None:
            break
        if deliver_one(message, worker):
            counts["sent"] += 1
        elif message.failed_at:
            counts["failed"] += 1
        else:
            counts["retry"] += 1
    return counts


def next_due_in() -> float | None:
    """Seconds until the next pending row is due (for the ``--loop`` worker's sleep)."""
    soonest = db.session.execute(
        select(OutboxMessage.available_at).where(
            OutboxMessage.channel == CHANNEL, OutboxMessage.sent_at.is_(None),
            OutboxMessage.failed_at.is_(None))
        .order_by(OutboxMessage.available_at).limit(1)
    ).scalar()
    db.session.rollback()
    if soonest is None:
        return None
    return max((soonest - utcnow()).total_seconds(), 0.0)


def retry(message_id: int) -> OutboxMessage | None:
    """An admin's "retry now" for a failed or waiting row.  Caller commits."""
    message = db.session.get(OutboxMessage, message_id)
    if message is None or message.channel != CHANNEL or message.sent_at is not None:
        return None
    message.failed_at = None
    message.available_at = utcnow()
    if message.attempts >= current_app.config["WEBHOOK_MAX_ATTEMPTS"]:
        message.attempts = 0
    return message


def delivery_log(limit: int = 100):
    """Recent webhook rows with their attempts (two queries)."""
    messages = list(db.session.execute(
        select(OutboxMessage).where(OutboxMessage.channel == CHANNEL)
        .order_by(OutboxMessage.id.desc()).limit(limit)).scalars())
    attempts: dict[int, list[WebhookAttempt]] = {m.id: [] for m in messages}
    if messages:
        for a in db.session.execute(select(WebhookAttempt).where(
                WebhookAttempt.outbox_id.in_(attempts)).order_by(WebhookAttempt.id)).scalars():
            attempts[a.outbox_id].append(a)
    return [(m, attempts[m.id]) for m in messages]
