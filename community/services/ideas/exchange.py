"""The idea exchange: posting, voting, comments, following, status workflow, merging.

Vote counts are exact under concurrency: a vote is an ``INSERT ... ON
CONFLICT DO NOTHING`` on the unique (idea, user) pair and a withdrawal a
``DELETE``; the counter moves by ``vote_count ± 1`` (an SQL expression,
evaluated by the database under its row lock) only when that statement
really changed a row, in the same transaction.  After the counter update
the idea's status is re-read under that row lock, so a vote racing a merge
is refused instead of landing on a closed duplicate.

Reputation (written to the ledger, tagged ``source="idea:<id>"``):
- ``idea_upvoted`` +1 to the author per vote from someone else, under the
  daily vote cap; withdrawing the vote reverses it; a merge reverses it on
  the duplicate and awards it again on the target for voters new there.
- ``idea_delivered`` +25 to the author when the idea becomes delivered
  (not when the author delivers their own idea); reversed if it leaves
  delivered again.

Callers check ``permissions`` and commit.
"""
from __future__ import annotations

from flask import current_app
from sqlalchemy import delete, exists, select

from ...extensions import db
from ...markup import render_markdown
from ...models import (
    Category,
    Idea,
    IdeaComment,
    IdeaFollow,
    IdeaStatusChange,
    IdeaVote,
    ReputationEvent,
    User,
    utcnow,
)
from ...models.ideas import IDEA_STATUSES, OPEN_STATUSES, STATUS_LABELS
from ...urls import idea_url
from .. import fanout
from .. import inputs
from ..errors import Conflict, NotFound, ValidationError
from ..forum import reputation
from ..forum.threads import clean_body, clean_title, get_tags, parse_tags, slugify
from ..locking import share
from ..moderation import audit
from . import budget, loop
from .history import final_target, record_change
from .rows import insert_ignore as _insert_ignore

#: Status → statuses it may move to.  ``duplicate`` only by ``merge``; ``new`` is only the start.
TRANSITIONS = {
    "new": ("under_review", "planned", "in_progress", "delivered", "declined"),
    "under_review": ("planned", "in_progress", "delivered", "declined"),
    "planned": ("under_review", "in_progress", "delivered", "declined"),
    "in_progress": ("planned", "delivered", "declined"),
    "delivered": ("in_progress",),          # a regression: reopen
    "declined": ("under_review",),          # reconsidered
    "duplicate": (),
}
RESPONSE_MIN_LENGTH = 10


# -- reading -----------------------------------------------------------------

def get_idea(idea_id) -> Idea:
    number = inputs.id_or_none(idea_id)
    idea = db.session.get(Idea, number) if number is not None else None
    if idea is None:
        raise NotFound("No such idea.")
    return idea


def has_voted(user, idea: Idea) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return db.session.execute(
        select(exists().where(IdeaVote.idea_id == idea.id, IdeaVote.user_id == user.id))
    ).scalar()


def voted_ids(user, idea_ids) -> set[int]:
    """Which of these ideas ``user`` voted for, in one query (listings)."""
    if user is None or not getattr(user, "is_authenticated", False) or not idea_ids:
        return set()
    return set(db.session.execute(
        select(IdeaVote.idea_id).where(IdeaVote.user_id == user.id, IdeaVote.idea_id.in_(list(idea_ids)))
    ).scalars())


def is_following(user, idea: Idea) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return db.session.execute(
        select(exists().where(IdeaFollow.idea_id == idea.id, IdeaFollow.user_id == user.id))
    ).scalar()


def history(idea: Idea) -> list[IdeaStatusChange]:
    """Status changes and official responses, oldest first."""
    from sqlalchemy.orm import selectinload

    return list(db.session.execute(
        select(IdeaStatusChange).options(selectinload(IdeaStatusChange.changed_by))
        .where(IdeaStatusChange.idea_id == idea.id).order_by(IdeaStatusChange.id)
    ).scalars())


def comments(idea: Idea) -> list[IdeaComment]:
    from sqlalchemy.orm import selectinload

    return list(db.session.execute(
        select(IdeaComment).options(selectinload(IdeaComment.author))
        .where(IdeaComment.idea_id == idea.id, IdeaComment.hidden.is_(False)).order_by(IdeaComment.id)
    ).scalars())


def current_votes(idea_id: int) -> int:
    return db.session.execute(select(Idea.vote_count).where(Idea.id == idea_id)).scalar_one()


# -- writing -----------------------------------------------------------------

def create_idea(author: User, category: Category, title: str, body: str, tags=None, *,
                created_at=None) -> Idea:
    """A new idea; its author votes for it and follows it (no reputation for one's own vote)."""
    title = clean_title(title)
    body = clean_body(body)
    names = parse_tags(tags)
    now = created_at or utcnow()
    idea = Idea(category=category, author=author, title=title, slug=slugify(title, 80), body=body,
                body_html=render_markdown(body), status="new", vote_count=0,
                created_at=now, last_activity_at=now)
    idea.tags = get_tags(names)
    db.session.add(idea)
    db.session.flush()
    if budget.votes_left(author) == 0:  # out of votes: the idea is posted, followed, not voted for
        _insert_ignore(IdeaFollow, {"idea_id": idea.id, "user_id": author.id, "created_at": now})
    else:
        set_vote(author, idea, 1, at=now)
    return idea


def _bump_votes(idea: Idea, delta: int) -> None:
    """``vote_count += delta`` as an SQL expression, then make sure the idea is still open.

    The expression is set on the ORM object (as the architecture asks) so
    that mapper events, e.g. the search index's, see the change.  The status
    is read *after* the UPDATE holds the row lock (PostgreSQL) or the write
    lock (SQLite), so a merge that closed the idea meanwhile is seen and the
    vote refused; the caller's rollback undoes the vote row too.
    """
    idea.vote_count = Idea.vote_count + delta
    db.session.flush()
    status = db.session.execute(select(Idea.status).where(Idea.id == idea.id)).scalar_one()
    if status not in OPEN_STATUSES:
        db.session.expire(idea, ["status"])
        raise Conflict("This idea is closed for voting.", code="idea_closed")


def set_vote(voter: User, idea: Idea, value, *, at=None) -> int:
    """Set ``voter``'s vote to ``value`` (1 votes, 0 withdraws); returns the idea's vote count.

    Idempotent: voting twice (even concurrently) counts once.  Under a vote
    budget a vote beyond it is refused with 409 (``budget.py``).
    """
    if isinstance(value, bool) or value not in (0, 1):
        raise ValidationError("value must be 1 (vote) or 0 (withdraw).", field="value")
    if not idea.is_open:
        raise Conflict(f"This idea is {idea.status_label.lower()}: votes are closed.", code="idea_closed")
    source = f"idea:{idea.id}"
    if value == 1:
        # The idea's row first, then the users (services/locking.py, "Lock order"): the voter
        # alone first, then the author in ``award``, crossed with a vote the other way round,
        # and a status change holding the idea waited for an author this vote held.
        _lock_idea(idea)
        budget.lock_voter(voter.id, idea.author_id)
        if _insert_ignore(IdeaVote, {"idea_id": idea.id, "user_id": voter.id, "created_at": at or utcnow()}):
            _bump_votes(idea, +1)
            budget.check(voter.id)
            if voter.id != idea.author_id:
                reputation.award(idea.author_id, "idea_upvoted", actor_id=voter.id, source=source)
            _insert_ignore(IdeaFollow, {"idea_id": idea.id, "user_id": voter.id, "created_at": utcnow()})
    else:
        result = db.session.execute(
            delete(IdeaVote).where(IdeaVote.idea_id == idea.id, IdeaVote.user_id == voter.id)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            _bump_votes(idea, -1)
            reputation.reverse_where(ReputationEvent.source == source,
                                     ReputationEvent.reason == "idea_upvoted",
                                     ReputationEvent.actor_id == voter.id, actor_id=voter.id)
    return current_votes(idea.id)


def toggle_vote(voter: User, idea: Idea) -> tuple[int, bool]:
    """The page's vote button: vote, or withdraw if already voted.  Returns (votes, voted)."""
    value = 0 if has_voted(voter, idea) else 1
    return set_vote(voter, idea, value), bool(value)


def add_comment(author: User, idea: Idea, body: str, *, at=None) -> IdeaComment:
    body = clean_body(body, minimum=current_app.config["REPLY_MIN_LENGTH"])
    if idea.status == "duplicate":
        raise Conflict("This idea was merged; comment on the idea it was merged into.")
    now = at or utcnow()
    comment = IdeaComment(idea_id=idea.id, author_id=author.id, body=body,
                          body_html=render_markdown(body), created_at=now)
    db.session.add(comment)
    idea.comment_count = Idea.comment_count + 1
    idea.last_activity_at = now
    db.session.flush()
    if author.id != idea.author_id:
        fanout.notify_later(idea.author_id, "idea_comment",
                             f"{author.username} commented on your idea “{idea.title}”",
                             idea_url(idea) + f"#comment-{comment.id}", actor_id=author.id)
    return comment


def follow(user: User, idea: Idea) -> bool:
    """Follow ``idea`` (a merged idea: the one its votes went to); True if newly followed.  Its
    row is read again under a key-share lock: a follow sent while the idea was being merged away
    waits for the merge and follows where it went (read before, it stayed on the duplicate)."""
    share(Idea, idea.id)
    if idea.merged_into_id:
        idea = final_target(idea)
    return _insert_ignore(IdeaFollow, {"idea_id": idea.id, "user_id": user.id, "created_at": utcnow()})


def unfollow(user: User, idea: Idea) -> bool:
    result = db.session.execute(
        delete(IdeaFollow).where(IdeaFollow.idea_id == idea.id, IdeaFollow.user_id == user.id)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def _clean_response(text: str | None) -> str:
    text = (text or "").strip()
    if len(text) < RESPONSE_MIN_LENGTH:
        raise ValidationError(
            f"Every status change needs an official response of at least {RESPONSE_MIN_LENGTH} characters.",
            field="response")
    if len(text) > current_app.config["BODY_MAX_LENGTH"]:
        raise ValidationError("The response is too long.", field="response")
    return text


def allowed_statuses(idea: Idea) -> list[str]:
    """Statuses the form offers: the current one (a response only) and its transitions."""
    if idea.status == "duplicate":
        return []
    return [idea.status, *TRANSITIONS[idea.status]]


def _lock_idea(idea: Idea) -> None:
    """Lock the idea's row and re-read it, for a status change or a vote (PostgreSQL ``FOR NO KEY
    UPDATE``: a link or a vote row inserted meanwhile, which only needs the key, does not wait
    and cannot deadlock with the replies this change posts; SQLite's ``BEGIN IMMEDIATE`` already
    serializes writers)."""
    db.session.execute(select(Idea.id).where(Idea.id == idea.id).with_for_update(key_share=True))
    db.session.refresh(idea)


def _latest_change(idea: Idea) -> IdeaStatusChange | None:
    return db.session.execute(select(IdeaStatusChange).where(IdeaStatusChange.idea_id == idea.id)
                              .order_by(IdeaStatusChange.id.desc()).limit(1)).scalar()


def change_status(actor: User, idea: Idea, status: str, response: str, *, at=None) -> IdeaStatusChange:
    """Move ``idea`` to ``status`` with an official response (same status: a response only).

    Notifies followers (voters follow when they vote), moves the delivered bonus, and on
    delivery or decline closes the loop (``loop.py``).  Race-safe: the idea's row is locked
    and re-read first, so ten identical requests at once move the status once and post
    once in each linked thread; repeating the current status with the response it already
    carries (a double submit) changes nothing and returns the latest change.
    """
    if not isinstance(status, str) or status not in IDEA_STATUSES:
        raise ValidationError(f"status must be one of {', '.join(s for s in IDEA_STATUSES if s != 'duplicate')}.",
                              field="status")
    if status == "duplicate":
        raise ValidationError("An idea becomes a duplicate only by merging it into another.", field="status")
    text = _clean_response(response)
    _lock_idea(idea)
    old = idea.status
    if status == old and text == idea.response:
        latest = _latest_change(idea)
        if latest is not None:
            return latest
    if old == "duplicate":
        raise Conflict("This idea was merged into another; change the status of that one.", field="status")
    if status != old and status not in TRANSITIONS[old]:
        raise Conflict(f"An idea cannot go from {STATUS_LABELS[old]} to {STATUS_LABELS[status]}.", field="status")
    change = record_change(actor, idea, old, status, text, at=at)
    source = f"idea:{idea.id}"
    if status == "delivered" and old != "delivered" and actor.id != idea.author_id:
        reputation.award(idea.author_id, "idea_delivered", actor_id=actor.id, source=source)
    elif old == "delivered" and status != "delivered":
        reputation.reverse_where(ReputationEvent.source == source, ReputationEvent.reason == "idea_delivered",
                                 actor_id=actor.id)
    audit.record(actor, "idea.status", "idea", idea.id, before={"status": old}, after={"status": status},
                 note=text[:300])
    if status == old:
        message = f"Official response on “{idea.title}”"
    else:
        message = f"“{idea.title}” is now {STATUS_LABELS[status].lower()}"
    closing = status != old and status in loop.CLOSING_STATUSES
    if closing:
        loop.reply_in_linked_threads(actor, idea, STATUS_LABELS[status], text)
    loop.notify_people(idea, message, actor, linked=closing, response=text)
    return change
