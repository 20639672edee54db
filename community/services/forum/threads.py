"""Threads and replies: creating, editing (with revisions), deleting, counting views.

These functions do the work and validate input; they do not check
permissions (see ``permissions.py``) and they do not commit: the caller
commits once, so a failure leaves nothing half-written.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from flask import current_app
from sqlalchemy import func, select

from ...extensions import db
from ...markup import render_markdown
from ...models import (
    Category,
    Post,
    PostRevision,
    Tag,
    Thread,
    User,
    utcnow,
)
from ...urls import thread_url
from .. import fanout, notifications
from .. import inputs
from ..accounts import subscriptions
from ..errors import NotFound, PermissionDenied, ValidationError
from ..locking import lock, write_lock
from ..moderation import spam
from . import reputation

# Letters of any script and digits, then also + # . - (c++, c#, node.js); a leading dot for .net.
TAG_RE = re.compile(r"^\.?[^\W_](?:[^\W_]|[+#.\-])*$")


def slugify(text: str, max_length: int = 80) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:max_length].rstrip("-") or "thread"


# -- validation ----------------------------------------------------------------

def clean_title(title: str | None) -> str:
    title = re.sub(r"\s+", " ", (title or "")).strip()
    low, high = current_app.config["TITLE_MIN_LENGTH"], current_app.config["TITLE_MAX_LENGTH"]
    if len(title) < low:
        raise ValidationError(f"The title must be at least {low} characters.", field="title")
    if len(title) > high:
        raise ValidationError(f"The title must be at most {high} characters (it has {len(title)}).",
                              field="title")
    return title


def clean_body(body: str | None, *, minimum: int | None = None, field: str = "body") -> str:
    body = (body or "").strip()
    low = current_app.config["BODY_MIN_LENGTH"] if minimum is None else minimum
    high = current_app.config["BODY_MAX_LENGTH"]
    if len(body) < low:
        raise ValidationError(f"The text must be at least {low} characters.", field=field)
    if len(body) > high:
        raise ValidationError(f"The text must be at most {high:,} characters (it has {len(body):,}).",
                              field=field)
    return body


def parse_tags(raw) -> list[str]:
    """Tags from a list or a comma/space separated string, lower-cased and de-duplicated."""
    if raw is None:
        return []
    if isinstance(raw, str):
        items = re.split(r"[,\s]+", raw)
    elif isinstance(raw, (list, tuple)):
        if not all(isinstance(item, str) for item in raw):
            raise ValidationError("Tags must be strings.", field="tags")
        items = list(raw)
    else:
        raise ValidationError("Tags must be a list of strings.", field="tags")
    tags: list[str] = []
    for item in items:
        name = unicodedata.normalize("NFC", item.strip().lower().lstrip("#"))
        if not name or name in tags:
            continue
        if len(name) > current_app.config["TAG_MAX_LENGTH"]:
            raise ValidationError(
                f"The tag “{name[:40]}” is longer than {current_app.config['TAG_MAX_LENGTH']} characters.",
                field="tags")
        if not TAG_RE.match(name):
            raise ValidationError(
                f"The tag “{name[:40]}” may only contain letters, digits and + # . - "
                "and must start with a letter, a digit or a dot (like .net).", field="tags")
        tags.append(name)
    if len(tags) > current_app.config["MAX_TAGS"]:
        raise ValidationError(f"Use at most {current_app.config['MAX_TAGS']} tags.", field="tags")
    return tags


def get_tags(names: list[str]) -> list[Tag]:
    """Existing tags by name, creating missing ones."""
    if not names:
        return []
    existing = {t.name: t for t in db.session.execute(select(Tag).where(Tag.name.in_(names))).scalars()}
    tags = []
    for name in names:
        tag = existing.get(name)
        if tag is None:
            tag = Tag(name=name)
            db.session.add(tag)
        tags.append(tag)
    return tags


# -- categories ----------------------------------------------------------------

def create_category(name: str, description: str = "", position: int | None = None) -> Category:
    name = re.sub(r"\s+", " ", (name or "")).strip()
    if not 2 <= len(name) <= 80:
        raise ValidationError("A category name must be 2 to 80 characters.", field="name")
    if not isinstance(description, str) or len(description) > 500:
        raise ValidationError("The description must be text of at most 500 characters.",
                              field="description")
    slug = slugify(name)
    clash = db.session.execute(
        select(Category).where((func.lower(Category.name) == name.lower()) | (Category.slug == slug))
    ).scalar()
    if clash:
        from ..errors import Conflict
        raise Conflict(f"A category named “{clash.name}” already exists.", field="name")
    if position is None:
        position = (db.session.execute(select(func.max(Category.position))).scalar() or 0) + 1
    category = Category(name=name, slug=slug, description=description.strip(), position=position)
    db.session.add(category)
    db.session.flush()
    return category


def get_category(category_id) -> Category:
    number = inputs.id_or_none(category_id)
    category = db.session.get(Category, number) if number is not None else None
    if category is None:
        raise ValidationError("Choose an existing category.", field="category_id")
    return category


# -- threads and replies ----------------------------------------------------------

def create_thread(author: User, category: Category, title: str, body: str, tags=None, *,
                  created_at: datetime | None = None, external_id: str | None = None,
                  notify: bool = True) -> Thread:
    """A new question: the thread and its first post."""
    title = clean_title(title)
    body = clean_body(body)
    tag_names = parse_tags(tags)
    if created_at is None:
        spam.check_new_content(author, body)  # new-account limits; imports pass created_at
    now = created_at or utcnow()
    thread = Thread(category=category, author=author, title=title, slug=slugify(title),
                    created_at=now, last_activity_at=now, external_id=external_id)
    thread.tags = get_tags(tag_names)
    question = Post(thread=thread, author=author, is_question=True, body=body, created_at=now,
                    body_html=render_markdown(body, mentions=notifications.mentioned_names(body)))
    db.session.add_all([thread, question])
    db.session.flush()
    thread.question_post_id = question.id
    if notify:
        subscriptions.watch_by_default(author.id, thread.id)
        fanout.thread_asked(thread, question, author, thread_url(thread, question.id), body)
    return thread


def add_reply(author: User, thread: Thread, body: str, *, created_at: datetime | None = None,
              official: bool = False, notify: bool = True, allowed=None) -> Post:
    """An answer to ``thread``; the asker, anyone @mentioned and the watchers are notified after
    the commit (``services/fanout.py``).

    ``allowed(thread)``: the caller's rule (``permissions.can_reply``), asked again of the thread
    re-read under its row lock, for a caller that read it before (``extensions.locks_late``).
    The Markdown is rendered first, before any lock: it writes nothing and reads only which
    @mentioned names exist, for their links.  The thread's row lock is its counter's ``UPDATE``
    (``FOR NO KEY UPDATE``, which the post's insert does not wait for), taken as late as it can be."""
    body = clean_body(body, minimum=current_app.config["REPLY_MIN_LENGTH"])
    body_html = render_markdown(body, mentions=notifications.mentioned_names(body))
    if allowed is not None:
        write_lock()   # SQLite: the write lock from here; the reads above ran beside other writers
    if created_at is None:
        spam.check_new_content(author, body)  # new-account limits; imports pass created_at
    now = created_at or utcnow()
    post = Post(thread=thread, author=author, body=body, body_html=body_html,
                created_at=now, is_official=official)
    db.session.add(post)
    db.session.flush()   # the post's INSERT and its fan-out row wait for no other answer's lock
    if notify:
        # The asker, the @mentioned and the watchers hear of it after the commit (services/fanout.py).
        fanout.reply_posted(thread, post, author, thread_url(thread, post.id), body)
        db.session.flush()
    thread.reply_count = Thread.reply_count + 1
    thread.last_activity_at = now
    db.session.flush()   # PostgreSQL: the thread's row lock from this UPDATE to the commit
    if allowed is not None:
        db.session.refresh(thread)   # as it stands under that lock
        if not allowed(thread):
            raise PermissionDenied("This thread is locked: no new answers." if thread.locked else "You may not reply.")
    if notify:
        subscriptions.watch_by_default(author.id, thread.id)   # under the lock: one row per member
    return post


def edit_post(editor: User, post: Post, body: str, *, title: str | None = None,
              tags=None, reason: str = "") -> Post:
    """Change a post (and, for the question, its thread's title and tags), keeping a revision."""
    thread = post.thread
    body = clean_body(body, minimum=None if post.is_question else current_app.config["REPLY_MIN_LENGTH"])
    new_title = clean_title(title) if (post.is_question and title is not None) else None
    new_tags = parse_tags(tags) if (post.is_question and tags is not None) else None
    old_tags = " ".join(t.name for t in thread.tags) if post.is_question else None
    unchanged = (body == post.body and (new_title is None or new_title == thread.title)
                 and (new_tags is None or " ".join(sorted(new_tags)) == " ".join(sorted(old_tags.split()))))
    if unchanged:
        return post
    from ...markup import mentioned_usernames

    already_mentioned = mentioned_usernames(post.body)
    db.session.add(PostRevision(
        post_id=post.id, editor_id=editor.id, body=post.body, reason=(reason or "")[:300],
        title=thread.title if post.is_question else None, tags=old_tags,
    ))
    post.body = body
    post.body_html = render_markdown(body, mentions=notifications.mentioned_names(body))
    post.edited_at = utcnow()
    post.edited_by_id = editor.id
    if new_title is not None:
        thread.title = new_title
        thread.slug = slugify(new_title)
    if new_tags is not None:
        thread.tags = get_tags(new_tags)
    thread.last_activity_at = utcnow()
    db.session.flush()
    # Only people newly @mentioned by the edit hear about it, not everyone again.
    fanout.mentions_added(thread, post, editor, thread_url(thread, post.id), body, skip_names=already_mentioned)
    return post


def revisions(post_id: int):
    return list(db.session.execute(
        select(PostRevision).where(PostRevision.post_id == post_id).order_by(PostRevision.id.desc())
    ).scalars())


def delete_post(actor: User, post: Post) -> None:
    """Soft-delete a post (the question deletes its thread), reversing the reputation it earned."""
    from .accepting import withdraw_accept  # local: accepting imports forum

    thread = post.thread
    lock(Thread, thread.id)
    if lock(Post, post.id) is None or post.deleted:
        return  # already deleted (perhaps by a concurrent request)
    if post.is_question:
        thread.deleted = True
        for each in thread.posts:
            each.deleted = True
            reputation.reverse_where(reputation.ReputationEvent.post_id == each.id, actor_id=actor.id)
        return
    if thread.accepted_post_id == post.id:
        withdraw_accept(actor, thread)
    post.deleted = True
    if not post.hidden:  # a hidden answer already left reply_count
        thread.reply_count = Thread.reply_count - 1
    reputation.reverse_where(reputation.ReputationEvent.post_id == post.id, actor_id=actor.id)
    db.session.flush()


def get_thread(thread_id) -> Thread:
    thread = db.session.get(Thread, thread_id)
    if thread is None:
        raise NotFound("No such thread.")
    return thread


def get_post(post_id) -> Post:
    post = db.session.get(Post, post_id)
    if post is None or post.deleted:
        raise NotFound("No such post.")
    return post
