"""Reading the audit log, and auditing staff edits of other people's posts.

``services.audit.record`` writes entries; this module filters them for the
audit page and installs one ORM hook: whenever a ``PostRevision`` is written
by a staff member for someone else's post, an ``post.edit`` entry with the
text before and after joins the same flush.  A hook rather than a call in
each view, so every edit path (page, API, later tools) is covered.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, selectinload

from ...extensions import db
from ...models import STAFF_ROLES, AuditEntry, Post, PostRevision, Thread, User
from ...urls import thread_url, user_url
from .. import inputs

TARGET_TYPES = ("thread", "post", "user", "flag", "ticket", "idea")


def parse_day(value: str | None, field: str) -> date | None:
    if not value or not value.strip():
        return None
    return inputs.parse_day(value, field, "Dates look like 2026-12-31.")


def query(*, actor: str | None = None, action: str | None = None, target_type: str | None = None,
          target_id: int | None = None, since: date | None = None, until: date | None = None):
    """Entries newest first, filtered; ``action`` matches exactly or as a prefix ("thread.")."""
    stmt = select(AuditEntry).options(selectinload(AuditEntry.actor))
    if actor:
        if actor == "system":
            stmt = stmt.where(AuditEntry.actor_id.is_(None))
        else:
            stmt = stmt.join(User, User.id == AuditEntry.actor_id).where(
                func.lower(User.username) == actor.strip().lower())
    if action:
        action = action.strip()
        stmt = stmt.where(AuditEntry.action.startswith(action) if action.endswith(".")
                          else AuditEntry.action == action)
    if target_type:
        stmt = stmt.where(AuditEntry.target_type == target_type)
    if target_id is not None:
        stmt = stmt.where(AuditEntry.target_id == target_id)
    if since:
        stmt = stmt.where(AuditEntry.created_at >= datetime.combine(since, time()))
    if until:
        stmt = stmt.where(AuditEntry.created_at < datetime.combine(until + timedelta(days=1), time()))
    return stmt.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())


def actions() -> list[str]:
    """Distinct actions present in the log, for the filter menu."""
    return list(db.session.execute(
        select(AuditEntry.action).distinct().order_by(AuditEntry.action)).scalars())


def actors() -> list[str]:
    return list(db.session.execute(
        select(User.username).join(AuditEntry, AuditEntry.actor_id == User.id).distinct()
        .order_by(User.username)).scalars())


def target_urls(entries) -> dict[tuple[str, int], str]:
    """Links for the targets of a page of entries, three queries at most (no N+1)."""
    ids: dict[str, set[int]] = {}
    for entry in entries:
        if entry.target_id is not None:
            ids.setdefault(entry.target_type, set()).add(entry.target_id)
    links: dict[tuple[str, int], str] = {}
    if ids.get("thread"):
        for thread in db.session.execute(select(Thread).where(Thread.id.in_(ids["thread"]))).scalars():
            links[("thread", thread.id)] = thread_url(thread)
    if ids.get("post"):
        rows = db.session.execute(
            select(Post.id, Thread).join(Thread, Thread.id == Post.thread_id)
            .where(Post.id.in_(ids["post"]))).all()
        for post_id, thread in rows:
            links[("post", post_id)] = thread_url(thread, post_id)
    if ids.get("user"):
        for user_id, username in db.session.execute(
                select(User.id, User.username).where(User.id.in_(ids["user"]))).all():
            links[("user", user_id)] = user_url(username)
    return links


# -- staff edits --------------------------------------------------------------------

def _audit_staff_edits(session: Session, flush_context, instances) -> None:
    from .audit import record

    for obj in list(session.new):
        if not isinstance(obj, PostRevision):
            continue
        post = session.get(Post, obj.post_id)
        editor = session.get(User, obj.editor_id)
        if post is None or editor is None or editor.id == post.author_id:
            continue
        if editor.role not in STAFF_ROLES or (obj.reason or "").startswith("Merged from thread"):
            continue
        before = {"body": obj.body}
        after = {"body": post.body}
        if obj.title is not None and post.thread is not None and obj.title != post.thread.title:
            before["title"], after["title"] = obj.title, post.thread.title
        record(editor, "post.edit", "post", post.id, before=before, after=after,
               note=obj.reason or None)


def install() -> None:
    """Register the edit hook once per process."""
    if not event.contains(Session, "before_flush", _audit_staff_edits):
        event.listen(Session, "before_flush", _audit_staff_edits)
