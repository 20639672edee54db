"""Demo ask sessions, so that a demo site's analytics page shows what it measures.

For demo sites only (``flask deflection demo-sessions``): it writes simulated
visits through the same recording functions as real ones, over the last N days,
against the site's real threads.  Never run it on a production database.
"""
from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from sqlalchemy import func, select

from ..extensions import db
from ..models import AskSession, Thread, utcnow
from ..services.deflection import ask_sessions as rec
from ..services.deflection import credit
from ..services.deflection.visitors import new_token

#: Searches with no good answer in the demo content: they appear as content gaps.
GAP_QUERIES = ["cancel my subscription and get a refund", "export all my data gdpr",
               "change the invoice company name", "dark mode on android", "api rate limit increase"]
STOPWORDS = {"after", "with", "from", "what", "when", "where", "which", "that", "this", "there", "does",
             "have", "into", "your", "their", "about", "how", "cannot", "once"}


def seed_sessions(days: int = 30, *, per_day: tuple[int, int] = (6, 22), rng_seed: int = 11,
                  now: datetime | None = None) -> int:
    """Simulate ask sessions over the last ``days`` days; returns how many (0 if some exist)."""
    if db.session.execute(select(func.count()).select_from(AskSession)).scalar():
        return 0
    threads = db.session.execute(
        select(Thread.id, Thread.title).where(Thread.visible)).all()
    if not threads:
        return 0
    rng = random.Random(rng_seed)
    now = now or utcnow()
    count = 0
    for back in range(days - 1, -1, -1):
        day = (now - timedelta(days=back)).date()
        for _ in range(rng.randint(*per_day)):
            start = datetime.combine(day, time.min) + timedelta(seconds=rng.randrange(86400))
            if start > now - timedelta(hours=1):
                continue
            _one_session(rng, start, threads)
            count += 1
    db.session.flush()
    return count


def _one_session(rng: random.Random, start: datetime, threads) -> None:
    session = rec.start_or_resume_session(visitor_id=new_token(), page=rng.choice(("ask", "ask", "contact")),
                                          address_key=f"demo-{rng.randrange(10 ** 6)}", now=start)
    session.beacon_at = start  # a browser that ran the page
    at = start + timedelta(seconds=rng.randint(5, 40))
    if session.arm == "holdout":  # shown nothing: contacts a little more often
        if rng.random() < 0.55:
            rec.record_event(session.id, rng.choice(("question_posted", "support_request")),
                             at=at + timedelta(minutes=rng.randint(2, 12)))
        return
    if rng.random() < 0.12:
        rec.record_suggestions_shown(session.id, rng.choice(GAP_QUERIES), [], at=at)
        if rng.random() < 0.6:
            rec.record_event(session.id, rng.choice(("question_posted", "support_request")),
                             at=at + timedelta(minutes=rng.randint(2, 9)))
        return
    target_id, title = rng.choice(threads)
    words = [w.strip("?.,!'\"“”‘’()").lower() for w in title.split()]
    words = [w for w in words if len(w) > 3 and w not in STOPWORDS]
    keep = sorted(rng.sample(range(len(words)), min(len(words), rng.randint(2, 4))))
    query = " ".join(words[i] for i in keep) or title.lower()
    others = [t for t, _ in rng.sample(threads, min(3, len(threads))) if t != target_id][:2]
    rec.record_suggestions_shown(session.id, query, [f"thread:{target_id}"] + [f"thread:{t}" for t in others], at=at)
    if rng.random() < 0.3:  # read the list, did not open anything
        if rng.random() < 0.5:
            rec.record_event(session.id, "question_posted", at=at + timedelta(minutes=rng.randint(3, 15)))
        return
    opened = at + timedelta(seconds=rng.randint(10, 90))
    rec.record_event(session.id, "suggestion_opened", thread_id=target_id, at=opened)
    roll = rng.random()
    if roll < 0.38:
        confirmed = opened + timedelta(minutes=rng.randint(1, 6))
        session.confirmed_at = confirmed
        rec.record_event(session.id, "confirmed", thread_id=target_id, at=confirmed)
        credit.credit_confirmation(session, db.session.get(Thread, target_id), confirmed)
    elif roll < 0.6:
        rec.record_event(session.id, "still_need_help", thread_id=target_id, at=opened + timedelta(minutes=2))
        rec.record_event(session.id, rng.choice(("question_posted", "support_request")),
                         at=opened + timedelta(minutes=rng.randint(4, 12)))
