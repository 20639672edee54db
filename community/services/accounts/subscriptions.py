"""Watching, tracking and muting threads, categories and tags (Discourse's three levels).

- **watching**: every new post notifies (``watching``); a watched category or tag also
  announces each new question in it;
- **tracking**: no mail for every post, but the thread's unread posts are counted (the inbox
  lists them) and mentions and replies to you still notify, as they always do;
- **muted**: nothing (no ``reply``, ``mention`` or ``watching``; an accepted answer still
  reaches its author).

The level that applies to a member and a thread (``effective``): their own choice for the
thread when they made one; else muted if its category or one of its tags is muted; else
watching if one of them is watched; else tracking if one is tracked; else none.  Asking or
answering sets the thread to the member's ``auto_watch`` level (watching unless they changed
it) when they have no level for it yet.  Callers commit; writes are upserts on the primary key.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Integer, String, delete, func, literal, select, union_all, update

from ...extensions import db
from ...models import (
    WATCH_LEVELS,
    Category,
    CategorySubscription,
    Post,
    Tag,
    TagSubscription,
    Thread,
    ThreadSubscription,
    User,
    thread_tags,
)
from ..errors import ValidationError
from ..locking import upsert

#: What a member's default after asking or answering may be (None: leave the thread alone).
AUTO_WATCH_CHOICES = ("watching", "tracking", None)


def _checked(level: str | None) -> str | None:
    level = level or None
    if level not in (*WATCH_LEVELS, None):
        raise ValidationError("Choose watching, tracking, muted or normal.", field="level")
    return level


def _upsert(model, keys: dict, level: str | None, **on_insert):
    """Set (one atomic upsert, ``locking.upsert``) or with None remove one subscription row."""
    level = _checked(level)
    if level is None:
        db.session.execute(delete(model).where(*(getattr(model, k) == v for k, v in keys.items())))
        return None
    upsert(model, keys, {"level": level}, on_insert=on_insert or None)
    return level


def set_thread_level(user_id: int, thread_id: int, level: str | None) -> str | None:
    """Chosen on the thread's page: what is there now counts as read."""
    return _upsert(ThreadSubscription, {"user_id": user_id, "thread_id": thread_id}, level,
                   last_read_post_id=_last_post_id(thread_id))


def set_category_level(user_id: int, category_id: int, level: str | None) -> str | None:
    return _upsert(CategorySubscription, {"user_id": user_id, "category_id": category_id}, level)


def set_tag_level(user_id: int, tag_id: int, level: str | None) -> str | None:
    return _upsert(TagSubscription, {"user_id": user_id, "tag_id": tag_id}, level)


def thread_level(user_id: int, thread_id: int) -> str | None:
    """The member's own choice for the thread (not what its category or tags imply)."""
    row = db.session.get(ThreadSubscription, (user_id, thread_id))
    return row.level if row else None


def category_level(user_id: int, category_id: int) -> str | None:
    row = db.session.get(CategorySubscription, (user_id, category_id))
    return row.level if row else None


def tag_levels(user_id: int, tag_ids) -> dict[int, str]:
    tag_ids = list(tag_ids)
    if not tag_ids:
        return {}
    return dict(db.session.execute(select(TagSubscription.tag_id, TagSubscription.level).where(
        TagSubscription.user_id == user_id, TagSubscription.tag_id.in_(tag_ids))).all())


def tag_level_by_name(user, name: str | None) -> str | None:
    """The signed-in member's level for a tag page (None for visitors or an unknown tag)."""
    if not getattr(user, "is_authenticated", False) or not name:
        return None
    return db.session.execute(select(TagSubscription.level).join(Tag, Tag.id == TagSubscription.tag_id)
                              .where(TagSubscription.user_id == user.id, func.lower(Tag.name) == name.lower())
                              ).scalar()


def watch_by_default(user_id: int, thread_id: int) -> None:
    """Asking or answering: the member's ``auto_watch`` level, unless they chose one for the thread."""
    user = db.session.get(User, user_id)
    level = user.auto_watch if user is not None else None
    if level and db.session.get(ThreadSubscription, (user_id, thread_id)) is None:
        db.session.add(ThreadSubscription(user_id=user_id, thread_id=thread_id, level=level,
                                          last_read_post_id=_last_post_id(thread_id)))
        db.session.flush()


def set_auto_watch(user: User, level: str | None) -> User:
    level = level or None
    if level not in AUTO_WATCH_CHOICES:
        raise ValidationError("Choose watching, tracking or nothing.", field="auto_watch")
    user.auto_watch = level
    return user


# -- the level that applies ----------------------------------------------------------------

def _combine(own: str | None, implied: list[str]) -> str | None:
    if own is not None:
        return own
    for level in ("muted", "watching", "tracking"):
        if level in implied:
            return level
    return None


def _tag_ids(thread_id: int) -> list[int]:
    return list(db.session.execute(select(thread_tags.c.tag_id).where(thread_tags.c.thread_id == thread_id)
                                   ).scalars())


def implied_levels(category_id: int, tag_ids) -> dict[int, list[str]]:
    """Per member, the levels their category and tag subscriptions give a thread there."""
    found: dict[int, list[str]] = {}
    rows = db.session.execute(select(CategorySubscription.user_id, CategorySubscription.level)
                              .where(CategorySubscription.category_id == category_id)).all()
    tag_ids = list(tag_ids)
    if tag_ids:
        rows += db.session.execute(select(TagSubscription.user_id, TagSubscription.level)
                                   .where(TagSubscription.tag_id.in_(tag_ids))).all()
    for user_id, level in rows:
        found.setdefault(user_id, []).append(level)
    return found


def levels_for(thread: Thread) -> dict[int, str]:
    """The effective level of every member who has one for ``thread`` (three queries)."""
    implied = implied_levels(thread.category_id, _tag_ids(thread.id))
    own = dict(db.session.execute(select(ThreadSubscription.user_id, ThreadSubscription.level)
                                  .where(ThreadSubscription.thread_id == thread.id)).all())
    levels = {user_id: _combine(own.get(user_id), implied.get(user_id, [])) for user_id in {*own, *implied}}
    return {user_id: level for user_id, level in levels.items() if level}


def effective(user_id: int, thread_id: int | None) -> str | None:
    if thread_id is None:
        return None
    own = thread_level(user_id, thread_id)
    if own is not None:
        return own
    thread = db.session.get(Thread, thread_id)
    if thread is None:
        return None
    implied = [level for level in (category_level(user_id, thread.category_id),
                                   *tag_levels(user_id, _tag_ids(thread_id)).values()) if level]
    return _combine(None, implied)


def is_muted(user_id: int, thread_id: int | None) -> bool:
    return effective(user_id, thread_id) == "muted"


def watchers(thread: Thread) -> list[int]:
    return watching(levels_for(thread))


def watching(levels: dict[int, str]) -> list[int]:
    """The members of ``levels_for``'s answer who watch the thread."""
    return sorted(user_id for user_id, level in levels.items() if level == "watching")


def category_and_tag_watchers(thread: Thread, levels=("watching",)) -> list[int]:
    """Members whose category or tag subscriptions make them ``levels`` of a thread (a new question,
    an unanswered one), unless they muted its category, one of its tags or the thread."""
    implied = implied_levels(thread.category_id, _tag_ids(thread.id))
    own = dict(db.session.execute(select(ThreadSubscription.user_id, ThreadSubscription.level)
                                  .where(ThreadSubscription.thread_id == thread.id)).all())
    return sorted(user_id for user_id, found in implied.items()
                  if _combine(own.get(user_id), found) in levels)


# -- tracking: unread posts -----------------------------------------------------------------

def _last_post_id(thread_id: int) -> int | None:
    return db.session.execute(select(func.max(Post.id)).where(Post.thread_id == thread_id)).scalar()


@dataclass(frozen=True)
class PageState:
    """What the thread page needs of a member's levels, read in one statement."""

    own: str | None            # their choice for the thread
    effective: str | None      # what applies (own, else what its category and tags imply)
    last_read_post_id: int | None
    last_post_id: int | None


def page_state(user_id: int, thread: Thread) -> PageState:
    """One UNION query: the member's row for the thread, their category and tag rows for it, and
    the thread's last post (the thread page runs the same statements whatever its size)."""
    own = select(literal("own").label("src"), ThreadSubscription.level.label("level"),
                 ThreadSubscription.last_read_post_id.label("n")).where(
        ThreadSubscription.user_id == user_id, ThreadSubscription.thread_id == thread.id)
    category = select(literal("implied"), CategorySubscription.level, literal(None, Integer)).where(
        CategorySubscription.user_id == user_id, CategorySubscription.category_id == thread.category_id)
    tags = select(literal("implied"), TagSubscription.level, literal(None, Integer)).join(
        thread_tags, thread_tags.c.tag_id == TagSubscription.tag_id).where(
        TagSubscription.user_id == user_id, thread_tags.c.thread_id == thread.id)
    last = select(literal("last"), literal(None, String), func.max(Post.id)).where(Post.thread_id == thread.id)
    rows = db.session.execute(union_all(own, category, tags, last)).all()
    own_row = next(((level, n) for src, level, n in rows if src == "own"), (None, None))
    implied = [level for src, level, _ in rows if src == "implied"]
    return PageState(own_row[0], _combine(own_row[0], implied), own_row[1],
                     next((n for src, _, n in rows if src == "last"), None))


def mark_read(user_id: int, thread: Thread) -> tuple[bool, PageState]:
    """The member read the thread up to its last post: their watched or tracked thread has no
    unread posts now.  A thread tracked or watched through its category or tags gets its own row
    at that level on first read, so its unread posts are counted from then on.  Returns whether
    anything changed, and the page's state."""
    state = page_state(user_id, thread)
    if state.own is None:
        if state.effective not in ("watching", "tracking"):
            return False, state
        db.session.add(ThreadSubscription(user_id=user_id, thread_id=thread.id, level=state.effective,
                                          last_read_post_id=state.last_post_id))
        return True, state
    if state.own == "muted" or state.last_read_post_id == state.last_post_id:
        return False, state
    db.session.execute(update(ThreadSubscription).where(ThreadSubscription.user_id == user_id,
                                                        ThreadSubscription.thread_id == thread.id)
                       .values(last_read_post_id=state.last_post_id))
    return True, state


def unread(user_id: int, limit: int = 20) -> list[tuple[Thread, int]]:
    """Watched and tracked threads with posts the member has not read, newest activity first."""
    unread_count = func.count(Post.id)
    rows = db.session.execute(
        select(Thread, unread_count)
        .join(ThreadSubscription, (ThreadSubscription.thread_id == Thread.id) & (ThreadSubscription.user_id == user_id))
        .join(Post, (Post.thread_id == Thread.id)
              & (Post.id > func.coalesce(ThreadSubscription.last_read_post_id, 0)))
        .where(ThreadSubscription.level.in_(("watching", "tracking")), Thread.visible, Post.visible,
               Post.author_id != user_id)
        .group_by(Thread.id).order_by(Thread.last_activity_at.desc()).limit(limit)).all()
    return [(thread, count) for thread, count in rows]


def of_user(user_id: int) -> dict:
    """The member's category and tag subscriptions, for the settings page."""
    categories = db.session.execute(select(Category, CategorySubscription.level).join(
        CategorySubscription, CategorySubscription.category_id == Category.id)
        .where(CategorySubscription.user_id == user_id).order_by(Category.position, Category.name)).all()
    tags = db.session.execute(select(Tag, TagSubscription.level).join(TagSubscription, TagSubscription.tag_id == Tag.id)
                              .where(TagSubscription.user_id == user_id).order_by(Tag.name)).all()
    return {"categories": categories, "tags": tags}


def apply_form(user: User, form: dict) -> None:
    """The settings page: ``auto_watch``, ``category-<id>`` and ``tag-<id>`` levels, and
    ``new_tag`` / ``new_tag_level`` to start following a tag by name."""
    from ..inputs import parse_id

    if "auto_watch" in form:
        set_auto_watch(user, form["auto_watch"])
    for key, value in form.items():
        kind, _, raw_id = key.partition("-")
        if kind not in ("category", "tag") or not raw_id:
            continue
        model = Category if kind == "category" else Tag
        target = db.session.get(model, parse_id(raw_id, field=key))
        if target is None:
            raise ValidationError(f"No such {kind}.", field=key)
        (set_category_level if kind == "category" else set_tag_level)(user.id, target.id, value)
    name = (form.get("new_tag") or "").strip().lower()
    if name:
        tag = db.session.execute(select(Tag).where(func.lower(Tag.name) == name)).scalar()
        if tag is None:
            raise ValidationError(f"No tag is called “{name}”.", field="new_tag")
        set_tag_level(user.id, tag.id, form.get("new_tag_level") or "watching")
