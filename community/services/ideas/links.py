"""Links from threads and tickets to ideas: "this asks for that feature".

A link is unique per (idea, thread) and (idea, ticket): it is written with
``INSERT ... ON CONFLICT DO NOTHING`` and then read back, so the same link
requested ten times at once is created once and every caller gets it.
Links feed demand (``demand.py``) and closing the loop (``loop.py``).
Callers check ``permissions.can_link_ideas`` and commit; what a viewer may
see of a link is decided by ``visible_links``.
"""
from __future__ import annotations

import re

from sqlalchemy import delete, insert, literal, select
from sqlalchemy.orm import selectinload

from ... import permissions
from ...extensions import db
from ...models import Idea, IdeaLink, Thread, Ticket, User, utcnow
from ...models.ideas import LINK_SOURCES
from ...search import analysis
from ...search.query import EDIT_ALPHABET, one_edit_strings
from .. import inputs
from ..errors import Conflict, NotFound, ValidationError
from ..learning import judgments
from ..locking import share
from ..moderation import audit
from .history import final_target
from .rows import insert_ignore


def _check_idea(idea: Idea) -> None:
    if idea.status == "duplicate":
        end = final_target(idea)
        raise Conflict(f"Idea #{idea.id} was merged into #{end.id}; link to #{end.id} instead.",
                       field="idea")


def _link(actor: User, idea: Idea, column: str, target_id: int, source: str) -> tuple[IdeaLink, bool]:
    if source not in LINK_SOURCES:
        raise ValidationError(f"source must be one of {', '.join(LINK_SOURCES)}.", field="source")
    share(Idea, idea.id)   # a merge closing the idea commits first; checked as it left it
    _check_idea(idea)
    created = insert_ignore(IdeaLink, {"idea_id": idea.id, column: target_id, "source": source,
                                       "created_by_id": actor.id, "created_at": utcnow()})
    link = db.session.execute(
        select(IdeaLink).where(IdeaLink.idea_id == idea.id, getattr(IdeaLink, column) == target_id)
    ).scalar_one()
    if created:
        audit.record(actor, "idea.link", "idea", idea.id, after={column: target_id, "source": source})
    return link, created


def link_thread(actor: User, idea: Idea, thread: Thread, *, source: str = "manual") -> tuple[IdeaLink, bool]:
    """Link ``thread`` to ``idea``; returns ``(link, created)`` (an existing link is returned as is).

    A thread merged into another links the thread it was merged into (its posts and asker are
    there; merging flattens chains, so one step).  A deleted thread is refused (400); a hidden
    one is linked (staff see it; others only count it, ``visible_links``).
    """
    if thread.merged_into_id:
        thread = db.session.get(Thread, thread.merged_into_id)
    if thread.deleted:
        raise ValidationError("A deleted thread cannot be linked.", field="thread_id")
    found = _link(actor, idea, "thread_id", thread.id, source)
    judgments.record_idea(idea)  # the idea's title asks for the thread (search evidence)
    return found


def link_ticket(actor: User, idea: Idea, ticket: Ticket, *, source: str = "manual") -> tuple[IdeaLink, bool]:
    """Link ``ticket`` to ``idea``; returns ``(link, created)``."""
    return _link(actor, idea, "ticket_id", ticket.id, source)


def unlink(actor: User, idea: Idea, link_id) -> int:
    """Remove one of ``idea``'s links (404 if it is not one, e.g. already removed)."""
    link_id = inputs.id_or_none(link_id)
    if link_id is None:
        raise NotFound("No such link.")
    row = db.session.execute(
        select(IdeaLink.thread_id, IdeaLink.ticket_id).where(IdeaLink.id == link_id, IdeaLink.idea_id == idea.id)
    ).first()
    result = db.session.execute(delete(IdeaLink).where(IdeaLink.id == link_id, IdeaLink.idea_id == idea.id)
                                .execution_options(synchronize_session=False))
    if row is None or result.rowcount != 1:
        raise NotFound("No such link on this idea.")
    audit.record(actor, "idea.unlink", "idea", idea.id,
                 before={"thread_id": row.thread_id, "ticket_id": row.ticket_id})
    if row.thread_id is not None:
        judgments.record_idea(idea)
    return link_id


def move_links(source: Idea, target: Idea) -> int:
    """Merging: ``source``'s links move to ``target`` (each thread or ticket once there)."""
    moved = 0
    for column in ("thread_id", "ticket_id"):
        col = getattr(IdeaLink, column)
        already = select(col).where(IdeaLink.idea_id == target.id, col.is_not(None))
        rows = select(literal(target.id), col, IdeaLink.source, IdeaLink.created_by_id, IdeaLink.created_at) \
            .where(IdeaLink.idea_id == source.id, col.is_not(None), col.not_in(already))
        result = db.session.execute(insert(IdeaLink).from_select(
            ["idea_id", column, "source", "created_by_id", "created_at"], rows))
        moved += max(result.rowcount or 0, 0)
    db.session.execute(delete(IdeaLink).where(IdeaLink.idea_id == source.id)
                       .execution_options(synchronize_session=False))
    judgments.record_idea(source)
    judgments.record_idea(target)
    return moved


# -- reading ---------------------------------------------------------------------

def links(idea: Idea) -> list[IdeaLink]:
    """Every link of ``idea``, oldest first."""
    return list(db.session.execute(
        select(IdeaLink).where(IdeaLink.idea_id == idea.id).order_by(IdeaLink.id)).scalars())


def visible_links(user, idea: Idea) -> dict:
    """What ``user`` may see of ``idea``'s links (three queries, whatever the number).

    ``{"threads": [(link, thread)], "tickets": [(link, ticket)], "hidden": n}``:
    threads they may read, tickets they may see (a customer only their own),
    and how many others exist (they still count in demand).
    """
    rows = links(idea)
    thread_ids = [r.thread_id for r in rows if r.thread_id]
    ticket_ids = [r.ticket_id for r in rows if r.ticket_id]
    threads = {t.id: t for t in db.session.execute(select(Thread).where(Thread.id.in_(thread_ids))).scalars()} \
        if thread_ids else {}
    tickets = {t.id: t for t in db.session.execute(select(Ticket).where(Ticket.id.in_(ticket_ids))).scalars()} \
        if ticket_ids else {}
    out = {"threads": [], "tickets": [], "hidden": 0}
    for link in rows:
        if link.thread_id:
            thread = threads.get(link.thread_id)
            if thread is not None and permissions.can_view_thread(user, thread):
                out["threads"].append((link, thread))
            else:
                out["hidden"] += 1
        else:
            ticket = tickets.get(link.ticket_id)
            if ticket is not None and permissions.can_see_linked_ticket(user, ticket):
                out["tickets"].append((link, ticket))
            else:
                out["hidden"] += 1
    return out


def ideas_for_thread(thread_id: int) -> list[Idea]:
    """Ideas a thread is linked to (the thread page shows them), one query."""
    return list(db.session.execute(
        select(Idea).join(IdeaLink, IdeaLink.idea_id == Idea.id).where(IdeaLink.thread_id == thread_id)
        .order_by(Idea.vote_count.desc(), Idea.id)).scalars())


def ideas_for_ticket(ticket_id: int) -> list[Idea]:
    return list(db.session.execute(
        select(Idea).options(selectinload(Idea.category)).join(IdeaLink, IdeaLink.idea_id == Idea.id)
        .where(IdeaLink.ticket_id == ticket_id).order_by(Idea.vote_count.desc(), Idea.id)).scalars())


#: An idea offered for a thread or ticket shares at least this many of its text's stems (all of
#: them when the text has fewer), one of them in its title: the engine ranks by any shared word,
#: and a ticket about "invoices show our old company name" offered "Show storage used per folder"
#: first; "Two-factor codes from my old phone no longer arrive" was offered "Selective sync for
#: shared folders on mobile" by "two" and "phone" in its description.
MIN_SHARED_STEMS = 2


def suggest_for_text(text: str, *, limit: int = 5, exclude_ids=()) -> list[dict]:
    """Ideas a thread's or ticket's text may be asking for (the suggest engine, then titles),
    only those sharing enough of its words, one in the idea's title (:data:`MIN_SHARED_STEMS`, a
    one-letter typo allowed): the panel is for staff linking demand, where a wrong idea offered
    costs a wrong link."""
    from .lists import significant_words, similar

    text = (text or "")[:200]
    results, _engine = similar(text, limit=limit + len(exclude_ids))
    skip = set(exclude_ids)
    results = [r for r in results if r["id"] not in skip]
    stems = dict.fromkeys(stem for word in significant_words(text) if (stem := analysis.normalize(word)))
    wanted = [_spellings(stem) for stem in stems]
    need = min(MIN_SHARED_STEMS, len(wanted))
    texts = {idea_id: (title, body) for idea_id, title, body in db.session.execute(
        select(Idea.id, Idea.title, Idea.body).where(Idea.id.in_([r["id"] for r in results])))} if results else {}

    def offered(idea_id: int) -> bool:
        title, body = texts.get(idea_id, ("", ""))
        title_stems = analysis.stem_set(title)
        return (_shared_stems(wanted, title_stems) >= min(1, need)
                and _shared_stems(wanted, title_stems | analysis.stem_set(body)) >= need)

    return [r for r in results if offered(r["id"])][:limit]


def _spellings(stem: str) -> set[str]:
    """``stem`` and, for a stem of 4+ letters, every string one edit from it (a typo)."""
    return {stem} | (one_edit_strings(stem, EDIT_ALPHABET) if len(stem) >= 4 else set())


def _shared_stems(wanted: list[set[str]], have: set[str]) -> int:
    """How many of the wanted stems (each as its :func:`_spellings`) ``have`` holds."""
    return sum(1 for spellings in wanted if not have.isdisjoint(spellings))


_REF_PATHS = {"idea": "/ideas/", "thread": "/threads/", "ticket": "/tickets/"}


def parse_ref(raw, kind: str, *, field: str) -> int:
    """An id from ``42``, ``"#42"`` or a link such as ``/threads/42/slug`` (forms take any)."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return inputs.parse_id(raw, field)
    path = re.escape(_REF_PATHS[kind])
    match = re.search(rf"(?:{path}|#|^)\s*(\d+)", str(raw or "").strip())
    if not match:
        raise ValidationError(f"Give the number (or the link) of the {kind}.", field=field)
    return inputs.parse_id(match.group(1), field)
