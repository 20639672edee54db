"""Learned evidence from people's judgments about threads (issue 16): besides a closed
duplicate (``evidence.record_duplicate``),

- an **accepted answer that links to another thread** ("this is answered over there"): the
  asker accepted it as the answer, so the question's title is a way of asking for the linked
  thread (Stack Exchange's "linked" questions).  Voter ``accepted:<asking thread>``: one vote
  per question and linked thread, whatever the answer repeats.  (The asker's own thread gets
  nothing from its accept: its title and question are its text already.)
- an **idea linked to a thread** ("this thread asks for that feature"): the idea's title is a
  way of asking for the thread.  Voter ``idea:<idea>``.  Only links to threads: a ticket link
  and its ticket's text are private and never read here.

Both threads must be visible (and the idea not merged); a vote goes when its source goes (the
accept withdrawn or moved, the link removed). Like duplicates these votes do not decay (a
person's judgment, not a click) and count under ``learned.LEARN_CAP`` with the others. Derived
data: :func:`rebuild` replaces them from the accepted answers and the links (``flask search
learn``); the write paths call :func:`record_accepted` and :func:`record_idea` at once.
Callers commit.
"""
from __future__ import annotations

import re

from sqlalchemy import delete, select

from ...extensions import db
from ...models import Idea, IdeaLink, Post, SearchEvidence, Thread, utcnow
from . import evidence
from .evidence import Rebuilt

SOURCES = ("accepted", "idea")
#: A link to a thread in stored HTML: ``href="/threads/12/..."``, absolute or relative.
_THREAD_LINK_RE = re.compile(r"""href=["'](?:https?://[^/"'\s]+)?/threads/(\d+)(?:[/"'#?])""")
#: Linked threads read per accepted answer (a list of links is not a judgment about each).
MAX_LINKS = 3


def accepted_voter(thread_id: int) -> str:
    return f"accepted:{thread_id}"


def idea_voter(idea_id: int) -> str:
    return f"idea:{idea_id}"


def linked_threads(body_html: str | None, own_id: int) -> list[int]:
    """Ids of the threads an answer's stored HTML links to, in order, itself left out."""
    out: list[int] = []
    for match in _THREAD_LINK_RE.finditer(body_html or ""):
        thread_id = int(match.group(1))
        if thread_id != own_id and thread_id not in out and thread_id < 2 ** 31:
            out.append(thread_id)
    return out[:MAX_LINKS]


def _drop(voter: str, source: str, keep=()) -> set[int]:
    """Remove ``voter``'s votes of ``source`` but those for the threads in ``keep`` (one DELETE
    statement: the same link made twice at once removes nothing twice); their threads."""
    conditions = [SearchEvidence.voter == voter, SearchEvidence.source == source]
    if keep:
        conditions.append(SearchEvidence.thread_id.not_in(list(keep)))
    return evidence.delete_votes(*conditions)


def _visible(thread_ids) -> dict[int, Thread]:
    ids = list(thread_ids)
    if not ids:
        return {}
    return {t.id: t for t in db.session.execute(select(Thread).where(Thread.id.in_(ids), Thread.visible)).scalars()}


def record_accepted(thread: Thread) -> set[int]:
    """Bring the votes of ``thread``'s accepted answer up to date (after accepting, changing or
    withdrawing it): its title votes for each visible thread that answer links to.  Returns
    the threads whose evidence changed."""
    post = db.session.get(Post, thread.accepted_post_id) if thread.visible and thread.accepted_post_id else None
    linked = linked_threads(post.body_html, thread.id) if post is not None and post.visible else []
    visible = _visible(linked)
    targets = [target_id for target_id in linked if target_id in visible]
    changed = _drop(accepted_voter(thread.id), "accepted", keep=targets)
    at = thread.solved_at or utcnow()
    for target_id in targets:
        if evidence.vote(target_id, accepted_voter(thread.id), "accepted", thread.title, at):
            changed.add(target_id)
    return changed


def _idea_learns(idea: Idea | None) -> bool:
    return (idea is not None and idea.merged_into_id is None and idea.status != "duplicate"
            and not getattr(idea, "hidden", False) and not getattr(idea, "deleted", False))


def record_idea(idea: Idea) -> set[int]:
    """Bring ``idea``'s votes up to date (after a link to a thread is made or removed, or a
    merge): its title votes for each visible linked thread.  Returns the threads changed."""
    thread_ids = db.session.execute(select(IdeaLink.thread_id).where(
        IdeaLink.idea_id == idea.id, IdeaLink.thread_id.is_not(None))).scalars().all() if _idea_learns(idea) else []
    targets = sorted(_visible(thread_ids))
    changed = _drop(idea_voter(idea.id), "idea", keep=targets)
    for thread_id in targets:
        if evidence.vote(thread_id, idea_voter(idea.id), "idea", idea.title, idea.created_at or utcnow()):
            changed.add(thread_id)
    return changed


def rebuild() -> Rebuilt:
    """Replace every accepted-answer and idea vote with those the rows support now."""
    touched = set(db.session.execute(select(SearchEvidence.thread_id).where(
        SearchEvidence.source.in_(SOURCES)).distinct()).scalars())
    db.session.execute(delete(SearchEvidence).where(SearchEvidence.source.in_(SOURCES)))
    written = 0
    for thread in db.session.execute(select(Thread).where(
            Thread.visible, Thread.accepted_post_id.is_not(None)).order_by(Thread.id)).scalars():
        found = record_accepted(thread)
        written += len(found)
        touched |= found
    idea_ids = db.session.execute(select(IdeaLink.idea_id).where(IdeaLink.thread_id.is_not(None))
                                  .distinct().order_by(IdeaLink.idea_id)).scalars().all()
    for idea_id in idea_ids:
        found = record_idea(db.session.get(Idea, idea_id))
        written += len(found)
        touched |= found
    return Rebuilt(written, touched)
