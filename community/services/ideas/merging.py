"""Merging duplicate ideas: votes move without counting anyone twice, followers move, A closes.

See ``docs/ideas.md`` (Merging duplicates).  Callers check
``permissions.can_merge_ideas`` and commit.
"""
from __future__ import annotations

import re

from sqlalchemy import delete, func, insert, literal, select, update

from ...extensions import db
from ...models import Idea, IdeaFollow, IdeaVote, ReputationEvent, User, utcnow
from ...urls import idea_url
from .. import fanout
from .. import inputs
from ..errors import Conflict, ValidationError
from ..forum import reputation
from ..moderation import audit
from . import links
from .history import final_target, record_change


def merge(actor: User, source: Idea, target: Idea, note: str | None = None) -> Idea:
    """Merge duplicate ``source`` into ``target``; returns ``target`` with its new count.

    Voters of ``source`` who had not voted for ``target`` get a vote there
    (keeping when they voted); nobody is counted twice.  Followers and linked
    threads and tickets move too (each once on ``target``).
    ``source`` is closed as ``duplicate`` with a link to ``target``.
    """
    _lock_and_check(source, target)
    old_status = source.status
    moved_voters = _move_votes(source, target)
    new_followers = _move_followers(source, target)
    links_moved = links.move_links(source, target)
    _recount_votes(source, target)
    _move_reputation(actor, source, target, moved_voters)
    text = (note or "").strip() or f"Merged into #{target.id} “{target.title}”: please vote and comment there."
    source.merged_into_id = target.id
    record_change(actor, source, old_status, "duplicate", text, merged_into_id=target.id)
    target.last_activity_at = utcnow()
    audit.record(actor, "idea.merge", "idea", source.id, before={"status": old_status},
                 after={"status": "duplicate", "merged_into": target.id, "votes_moved": len(moved_voters),
                        "links_moved": links_moved},
                 note=note)
    db.session.flush()
    db.session.refresh(source)
    db.session.refresh(target)
    message = f"“{source.title}” was merged into “{target.title}”; your vote and follow moved with it"
    fanout.notify_later(set(moved_voters) | set(new_followers), "idea_status", message, idea_url(target),
                        actor_id=actor.id)
    return target


def _lock_and_check(source: Idea, target: Idea) -> None:
    """Lock both rows (PostgreSQL) so that votes racing the merge wait for it; refuse a bad merge."""
    if source.id == target.id:
        raise ValidationError("An idea cannot be merged into itself.", field="into")
    db.session.execute(select(Idea.id).where(Idea.id.in_([source.id, target.id])).order_by(Idea.id)
                       .with_for_update())
    db.session.refresh(source)
    db.session.refresh(target)
    if source.status == "duplicate":
        end = final_target(source)
        raise Conflict(f"This idea was already merged into #{end.id}.", field="into")
    if target.status == "duplicate":
        end = final_target(target)
        raise Conflict(f"#{target.id} was itself merged into #{end.id}; merge into #{end.id} instead.",
                       field="into")


def _move_votes(source: Idea, target: Idea) -> list[int]:
    """Votes of ``source`` move to ``target`` (keeping when they were cast); returns who moved."""
    moved_voters = _voters_new_to(source, target)
    if moved_voters:
        db.session.execute(insert(IdeaVote).from_select(
            ["idea_id", "user_id", "created_at", "merged_from_id"],
            select(literal(target.id), IdeaVote.user_id, IdeaVote.created_at, literal(source.id))
            .where(IdeaVote.idea_id == source.id, IdeaVote.user_id.in_(moved_voters))))
    db.session.execute(delete(IdeaVote).where(IdeaVote.idea_id == source.id)
                       .execution_options(synchronize_session=False))
    return moved_voters


def _move_followers(source: Idea, target: Idea) -> list[int]:
    new_followers = _followers_new_to(source, target)
    if new_followers:
        db.session.execute(insert(IdeaFollow).from_select(
            ["idea_id", "user_id", "created_at"],
            select(literal(target.id), IdeaFollow.user_id, IdeaFollow.created_at)
            .where(IdeaFollow.idea_id == source.id, IdeaFollow.user_id.in_(new_followers))))
    db.session.execute(delete(IdeaFollow).where(IdeaFollow.idea_id == source.id)
                       .execution_options(synchronize_session=False))
    return new_followers


def _recount_votes(*ideas: Idea) -> None:
    """Counters from the rows, under the locks taken by ``_lock_and_check``."""
    for idea in ideas:
        db.session.execute(update(Idea).where(Idea.id == idea.id).values(
            vote_count=select(func.count()).select_from(IdeaVote).where(IdeaVote.idea_id == idea.id)
            .scalar_subquery()).execution_options(synchronize_session=False))


def _move_reputation(actor: User, source: Idea, target: Idea, moved_voters: list[int]) -> None:
    """Reputation follows the votes: reversed on ``source``, granted again on ``target``."""
    reputation.reverse_where(ReputationEvent.source == f"idea:{source.id}",
                             ReputationEvent.reason == "idea_upvoted", actor_id=actor.id)
    for voter_id in moved_voters:
        if voter_id != target.author_id:
            reputation.award(target.author_id, "idea_upvoted", actor_id=voter_id, source=f"idea:{target.id}")


def _voters_new_to(source: Idea, target: Idea) -> list[int]:
    already = select(IdeaVote.user_id).where(IdeaVote.idea_id == target.id)
    return list(db.session.execute(
        select(IdeaVote.user_id).where(IdeaVote.idea_id == source.id, IdeaVote.user_id.not_in(already))
        .order_by(IdeaVote.user_id)
    ).scalars())


def _followers_new_to(source: Idea, target: Idea) -> list[int]:
    already = select(IdeaFollow.user_id).where(IdeaFollow.idea_id == target.id)
    return list(db.session.execute(
        select(IdeaFollow.user_id).where(IdeaFollow.idea_id == source.id, IdeaFollow.user_id.not_in(already))
    ).scalars())


def parse_idea_ref(raw) -> int:
    """An idea id from ``42``, ``"#42"`` or an idea URL (the merge form takes any of these)."""
    if isinstance(raw, bool):
        raise ValidationError("Give the number of the idea to merge into.", field="into")
    if isinstance(raw, int):
        return inputs.parse_id(raw, "into")
    match = re.search(r"(?:/ideas/|#|^)\s*(\d+)", str(raw or "").strip())
    if not match:
        raise ValidationError("Give the number (or the link) of the idea to merge into.", field="into")
    return inputs.parse_id(match.group(1), "into")
