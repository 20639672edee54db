"""Bulk import of threads with their answers (JSONL or a Stack Exchange dump), fast and idempotent.

Each batch is a few multi-row INSERTs (threads, posts, tags) instead of one
ORM object per row, and the search index gets the batch's documents from the
same records through one writer held for the whole import (the per-commit
listeners are paused meanwhile).  ``external_id`` makes a re-run skip what is
already there, so an interrupted import is resumed by running it again.

Imported content keeps its history honestly: dates as given, the accepted
answer, and scores as each post's score *without* inventing voters (there
are no Vote rows and no reputation for imported scores; later votes add to
them).  Missing users are created without a usable password (they can reset
it by email), missing categories and tags are created.

Imports are many transactions by design: ``commit`` (the CLI passes
``db.session.commit``) is called after each batch.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import SimpleNamespace

from sqlalchemy import func, insert, select, update

from ...extensions import db
from ...markup import render_markdown
from ...models import Category, Post, Tag, Thread, User, thread_tags, utcnow
from .import_formats import ThreadIn
from .threads import slugify

BATCH_SIZE = 1000
#: Username of the account that owns posts whose author is unknown.
UNKNOWN_AUTHOR = "imported_member"


@dataclass
class ImportReport:
    created: int = 0
    skipped: int = 0
    answers: int = 0
    users_created: int = 0
    categories_created: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    indexed: int = 0


def username_for(name: str | None) -> str:
    """A valid username (3-40 of ``[A-Za-z0-9_.-]``, alphanumeric ends) for an author name."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", (name or "").strip()).strip("._-")
    if not name:
        return UNKNOWN_AUTHOR
    if len(name) < 3:
        name = f"{name}_user"
    return name[:40].rstrip("._-")


# -- Markdown, quickly --------------------------------------------------------------

#: Anything Markdown, HTML or the linkifier might act on sends a text to the full renderer.
_NOT_PLAIN = re.compile(r"[<>&*_`\[\]#!\\|~\x00-\x08\x0b-\x1f\x7f]|://|www\.|\.[A-Za-z]|^\s*(?:[-+=]|\d+[.)])|\t|\s\n|\n\s*\n\s*\n",
                        re.MULTILINE)


def render_body(text: str) -> str:
    """``render_markdown(text)``, with a shortcut for plain paragraphs (the common case).

    Text with no Markdown, HTML, URL-like or list syntax renders to escaped-free
    paragraphs; anything else goes through the real renderer and sanitizer.
    ``tests/test_import.py`` checks that both paths agree.
    """
    if text != text.strip() or _NOT_PLAIN.search(text):
        return render_markdown(text)
    paragraphs = []
    for paragraph in text.strip().split("\n\n"):
        lines = paragraph.split("\n")
        if not all(line and line == line.strip() for line in lines):
            return render_markdown(text)  # indentation, trailing spaces, blank-ish lines
        paragraphs.append("<p>" + "\n".join(lines) + "</p>")
    return "\n".join(paragraphs)


# -- lookups that create what is missing ----------------------------------------

class _Directory:
    """Users, categories and tags by name, created on first use and cached for the import."""

    def __init__(self, report: ImportReport):
        self.report = report
        self.users: dict[str, int] = {}
        self.categories: dict[str, SimpleNamespace] = {}
        self.tags: dict[str, int] = {}

    def user_ids(self, names: Iterable[str]) -> None:
        wanted = {username_for(n).lower(): username_for(n) for n in names}
        missing = [k for k in wanted if k not in self.users]
        if not missing:
            return
        for user_id, username in db.session.execute(
                select(User.id, User.username).where(func.lower(User.username).in_(missing))):
            self.users[username.lower()] = user_id
        rows = [{"username": wanted[k], "email": f"{k}@imported.invalid", "password_hash": "!",
                 "role": "member", "created_at": utcnow()} for k in missing if k not in self.users]
        if rows:
            for user_id, username in db.session.execute(
                    insert(User).returning(User.id, User.username, sort_by_parameter_order=True), rows):
                self.users[username.lower()] = user_id
            self.report.users_created += len(rows)

    def user_id(self, name: str) -> int:
        return self.users[username_for(name).lower()]

    def category(self, name: str) -> SimpleNamespace:
        name = re.sub(r"\s+", " ", name or "").strip() or "General"
        key = name.lower()
        if key not in self.categories:
            slug = slugify(name)
            found = db.session.execute(select(Category).where(
                (func.lower(Category.name) == key) | (Category.slug == slug))).scalar()
            if found is None:
                position = (db.session.execute(select(func.max(Category.position))).scalar() or 0) + 1
                found = Category(name=name[:80], slug=slug, description="", position=position)
                db.session.add(found)
                db.session.flush()
                self.report.categories_created += 1
            self.categories[key] = SimpleNamespace(id=found.id, name=found.name)
        return self.categories[key]

    def tag_ids(self, names: Iterable[str]) -> None:
        missing = sorted({n for n in names if n not in self.tags})
        if not missing:
            return
        for tag_id, name in db.session.execute(select(Tag.id, Tag.name).where(Tag.name.in_(missing))):
            self.tags[name] = tag_id
        rows = [{"name": n} for n in missing if n not in self.tags]
        if rows:
            for tag_id, name in db.session.execute(
                    insert(Tag).returning(Tag.id, Tag.name, sort_by_parameter_order=True), rows):
                self.tags[name] = tag_id


# -- writing one batch ------------------------------------------------------------

def _existing_external_ids(ids: list[str]) -> set[str]:
    return set(db.session.execute(select(Thread.external_id).where(Thread.external_id.in_(ids))).scalars())


def _write_batch(batch: list[ThreadIn], directory: _Directory, report: ImportReport) -> list[dict]:
    """Insert ``batch`` (already de-duplicated); returns the search documents of the new threads."""
    from ...search.documents import thread_document

    directory.user_ids([t.author for t in batch] + [a.author for t in batch for a in t.answers])
    directory.tag_ids(tag for t in batch for tag in t.tags)
    now = utcnow()
    thread_rows, plans = [], []
    for item in batch:
        asked = item.created_at or now
        answers = [(a, a.created_at or asked) for a in item.answers]
        author_id = directory.user_id(item.author)
        first_reply = min((when for a, when in answers if directory.user_id(a.author) != author_id),
                          default=None)
        accepted = next(((a, when) for a, when in answers if a.accepted), None)
        category = directory.category(item.category)
        thread_rows.append({
            "category_id": category.id, "author_id": author_id, "title": item.title,
            "slug": slugify(item.title), "external_id": item.external_id, "created_at": asked,
            "last_activity_at": max([asked] + [when for _a, when in answers]),
            "first_reply_at": first_reply, "solved_at": accepted[1] if accepted else None,
            "view_count": item.views, "reply_count": len(answers), "score": item.score,
        })
        plans.append((item, asked, answers, category))
    thread_ids = [row[0] for row in db.session.execute(
        insert(Thread).returning(Thread.id, sort_by_parameter_order=True), thread_rows)]

    post_rows, owners = [], []
    for thread_id, (item, asked, answers, _category) in zip(thread_ids, plans):
        post_rows.append({"thread_id": thread_id, "author_id": directory.user_id(item.author),
                          "is_question": True, "body": item.body, "score": item.score,
                          "imported_score": item.score,
                          "body_html": item.body_html if item.body_html is not None else render_body(item.body),
                          "created_at": asked})
        owners.append((thread_id, None))
        for answer, when in answers:
            post_rows.append({"thread_id": thread_id, "author_id": directory.user_id(answer.author),
                              "is_question": False, "body": answer.body, "score": answer.score,
                              "imported_score": answer.score,
                              "body_html": answer.body_html if answer.body_html is not None
                              else render_body(answer.body),
                              "created_at": when})
            owners.append((thread_id, answer))
    post_ids = [row[0] for row in db.session.execute(
        insert(Post).returning(Post.id, sort_by_parameter_order=True), post_rows)]

    links: dict[int, dict] = {tid: {"id": tid} for tid in thread_ids}
    for post_id, (thread_id, answer) in zip(post_ids, owners):
        if answer is None:
            links[thread_id]["question_post_id"] = post_id
        elif answer.accepted:
            links[thread_id]["accepted_post_id"] = post_id
    for link in links.values():
        link.setdefault("accepted_post_id", None)
    db.session.execute(update(Thread), list(links.values()))
    tag_rows = [{"thread_id": tid, "tag_id": directory.tags[tag]}
                for tid, (item, *_rest) in zip(thread_ids, plans) for tag in item.tags]
    if tag_rows:
        db.session.execute(insert(thread_tags), tag_rows)

    # Search documents from the same values, through the code the index uses for rebuilds.
    docs, cursor = [], 0
    for thread_id, row, (item, _asked, answers, category) in zip(thread_ids, thread_rows, plans):
        posts = []
        for offset in range(len(answers) + 1):
            values = post_rows[cursor + offset]
            posts.append(SimpleNamespace(id=post_ids[cursor + offset], hidden=False, deleted=False,
                                         visible=True, is_question=values["is_question"], body_html=values["body_html"]))
        cursor += len(answers) + 1
        link = links[thread_id]
        thread = SimpleNamespace(
            id=thread_id, hidden=False, deleted=False, merged_into_id=None, visible=True,
            question_post_id=link["question_post_id"], accepted_post_id=link["accepted_post_id"],
            category=category, category_id=category.id,
            tags=[SimpleNamespace(name=t) for t in sorted(item.tags)], **{
                k: row[k] for k in ("title", "slug", "score", "reply_count", "created_at", "last_activity_at")})
        docs.append(thread_document(thread, posts))
    report.created += len(batch)
    report.answers += sum(len(item.answers) for item in batch)
    return [d for d in docs if d is not None]


def import_records(records: Iterable[tuple[int, ThreadIn | str]], *, commit: Callable[[], None],
                   progress: Callable[[int], None] | None = None, batch_size: int = BATCH_SIZE,
                   on_error: Callable[[int, str], None] | None = None) -> ImportReport:
    """Import ``(line, record or error)`` pairs; bad records are reported and skipped."""
    from ... import search

    report = ImportReport()
    directory = _Directory(report)
    seen: set[str] = set()
    batch: list[ThreadIn] = []

    def error(line: int, message: str) -> None:
        report.errors.append((line, message))
        if on_error:
            on_error(line, message)

    with search.paused(), search.bulk_writer() as index:
        def flush() -> None:
            if not batch:
                return
            existing = _existing_external_ids([t.external_id for t in batch])
            fresh = [t for t in batch if t.external_id not in existing]
            report.skipped += len(batch) - len(fresh)
            if fresh:
                docs = _write_batch(fresh, directory, report)
                commit()
                report.indexed += index.add(docs)
            if progress:
                progress(len(batch))
            batch.clear()

        for line, record in records:
            if isinstance(record, str):
                error(line, record)
                if progress:
                    progress(1)
                continue
            if record.external_id in seen:
                error(line, f"external_id {record.external_id!r} appears twice in this file")
                if progress:
                    progress(1)
                continue
            seen.add(record.external_id)
            batch.append(record)
            if len(batch) >= batch_size:
                flush()
        flush()
    return report
