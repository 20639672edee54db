"""Close a question as a duplicate of another (Stack Overflow's), unlike merging which moves the answers.

- The duplicate stays where it is, readable, with a banner leading to the original and
  its accepted answer; people who read it are counted as readers of the original too.
- Its title becomes learned search evidence for the original (one vote, voter
  ``duplicate:<id>``), so the words of the duplicate find the original.
- The original is resolved to the end of its chain (a duplicate of a duplicate points
  at the first original), and questions closed as duplicates of the one being closed
  move on to its original: a chain never grows and never loops.
- Who may do it is ``permissions.can_close_as_duplicate`` (the asker or a moderator);
  this module checks the threads, not the person.  Recorded in the audit log.  Callers commit.
"""
from __future__ import annotations

import re

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ...extensions import db
from ...models import DuplicateLink, Post, Thread, utcnow
from ..errors import Conflict, NotFound, ValidationError
from ..learning import evidence
from ..locking import lock_many
from ..moderation import audit


def parse_thread_ref(value) -> int:
    """A thread id from ``123``, ``"123"`` or a thread address (``/threads/123/slug``)."""
    match = re.search(r"(?:/threads/)?(\d{1,12})", str(value or ""))
    if not match:
        raise ValidationError("Give the number or the address of the original question.", field="original")
    return int(match.group(1))


def link_of(thread_id: int) -> DuplicateLink | None:
    return db.session.execute(select(DuplicateLink).where(DuplicateLink.thread_id == thread_id)).scalar_one_or_none()


def close_as_duplicate(actor, thread: Thread, original_ref, *, note: str = "") -> DuplicateLink:
    """Close ``thread`` as a duplicate of the thread ``original_ref``; returns the link."""
    original_id = parse_thread_ref(original_ref)
    link = link_of(original_id)
    if link is not None:  # a duplicate of a duplicate: the first original
        original_id = link.original_id
    lock_many(Thread, [thread.id, original_id])
    original = db.session.get(Thread, original_id)
    if original is None or not original.visible:
        raise NotFound("The original question does not exist.", field="original")
    if original.id == thread.id:
        raise ValidationError("A question cannot be a duplicate of itself.", field="original")
    if not thread.visible:
        raise Conflict("This question is hidden, deleted or merged.")
    if link_of(thread.id) is not None:
        raise Conflict("This question is already closed as a duplicate.")
    at = utcnow()
    try:
        with db.session.begin_nested():
            link = DuplicateLink(thread_id=thread.id, original_id=original.id,
                                 closed_by_id=getattr(actor, "id", None), created_at=at)
            db.session.add(link)
    except IntegrityError:  # closed at the same moment by another request
        raise Conflict("This question is already closed as a duplicate.") from None
    moved = list(db.session.execute(select(DuplicateLink.thread_id).where(
        DuplicateLink.original_id == thread.id)).scalars())
    if moved:
        db.session.execute(update(DuplicateLink).where(DuplicateLink.original_id == thread.id)
                           .values(original_id=original.id).execution_options(synchronize_session=False))
    evidence.record_duplicate(thread, original, at)
    for moved_id in moved:  # their titles now ask for the original too
        evidence.record_duplicate(db.session.get(Thread, moved_id), original, at)
    audit.record(actor, "thread.duplicate", "thread", thread.id, before={"duplicate_of": None},
                 after={"duplicate_of": original.id, "moved_duplicates": moved},
                 note=note or f"Closed as a duplicate of thread {original.id}")
    return link


def banner(thread: Thread) -> dict | None:
    """What the duplicate's page shows: ``{"original", "accepted"}`` (the accepted answer or None),
    or ``None`` when the thread is not a duplicate or its original is no longer visible."""
    link = link_of(thread.id)
    if link is None or not link.original.visible:
        return None
    original = link.original
    accepted = db.session.get(Post, original.accepted_post_id) if original.accepted_post_id else None
    if accepted is not None and not accepted.visible:
        accepted = None
    return {"original": original, "accepted": accepted}
