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

import functools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace

from sqlalchemy import String, any_, bindparam, func, insert, select, update

from ...extensions import db
from ...models import Category, Post, Tag, Thread, User, thread_tags, utcnow
from .import_copy import insert_rows
from .import_render import Rendered, Renderer
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


@functools.lru_cache(maxsize=65536)
def username_for(name: str | None) -> str:
    """A valid username (3-40 of ``[A-Za-z0-9_.-]``, alphanumeric ends) for an author name."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", (name or "").strip()).strip("._-")
    if not name:
        return UNKNOWN_AUTHOR
    if len(name) < 3:
        name = f"{name}_user"
    return name[:40].rstrip("._-")


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

def _existing_external_ids(ids: list[str]) -> dict[str, int]:
    """``external_id -> thread id`` of the threads an earlier run imported.

    On PostgreSQL the batch's ids are one array parameter (``= ANY``): as an ``IN`` list of a
    thousand placeholders, psycopg rewrote the statement's placeholders by a regular expression
    each batch (uncached at that length), 13-15 ms of CPU against 3-5 for the array."""
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        wanted = Thread.external_id == any_(bindparam("external_ids", ids, type_=ARRAY(String)))
    else:
        wanted = Thread.external_id.in_(ids)
    return dict(db.session.execute(select(Thread.external_id, Thread.id).where(wanted)).all())


def _texts_to_render(batch: list[ThreadIn]) -> list[str | None]:
    """The Markdown of every post of ``batch`` in insertion order (``None`` where HTML is given)."""
    texts: list[str | None] = []
    for item in batch:
        texts.append(item.body if item.body_html is None else None)
        texts.extend(a.body if a.body_html is None else None for a in item.answers)
    return texts


def _write_batch(batch: list[ThreadIn], rendered: list[Rendered], directory: _Directory,
                 report: ImportReport) -> list[dict]:
    """Insert ``batch`` (already de-duplicated) with the HTML and text of its posts (in
    :func:`_texts_to_render` order); returns the search documents of the new threads.

    Core statements (``COPY`` on PostgreSQL, else executemany with RETURNING in order:
    ``import_copy``), not the ORM's bulk path: no per-row ORM bookkeeping, and mapper events
    never fire for these rows anyway.
    """
    directory.user_ids([t.author for t in batch] + [a.author for t in batch for a in t.answers])
    directory.tag_ids(tag for t in batch for tag in t.tags)
    thread_rows, plans = _thread_rows(batch, directory)
    thread_ids = insert_rows(Thread.__table__, thread_rows)
    post_rows, owners, texts = _post_rows(thread_ids, plans, rendered, directory)
    post_ids = insert_rows(Post.__table__, post_rows)
    links = _link_posts(thread_ids, post_ids, owners)
    tag_rows = [{"thread_id": tid, "tag_id": directory.tags[tag]}
                for tid, (item, *_rest) in zip(thread_ids, plans) for tag in item.tags]
    insert_rows(thread_tags, tag_rows, returning_ids=False)
    report.created += len(batch)
    report.answers += sum(len(item.answers) for item in batch)
    return _search_documents(thread_ids, thread_rows, plans, post_rows, post_ids, links, texts)


def _thread_rows(batch: list[ThreadIn], directory: _Directory) -> tuple[list[dict], list[tuple]]:
    """The threads' rows, and per thread ``(item, asked, [(answer, when)], category)``."""
    now = utcnow()
    thread_rows, plans = [], []
    for item in batch:
        asked = item.created_at or now
        answers = [(a, a.created_at or asked) for a in item.answers]
        author_id = directory.user_id(item.author)
        accepted = next(((a, when) for a, when in answers if a.accepted), None)
        category = directory.category(item.category)
        thread_rows.append({
            "category_id": category.id, "author_id": author_id, "title": item.title,
            "slug": slugify(item.title), "external_id": item.external_id, "created_at": asked,
            "last_activity_at": max([asked] + [when for _a, when in answers]),
            "solved_at": accepted[1] if accepted else None,
            "view_count": item.views, "reply_count": len(answers), "score": item.score,
        })
        plans.append((item, asked, answers, category))
    return thread_rows, plans


def _post_rows(thread_ids, plans, rendered: list[Rendered],
               directory: _Directory) -> tuple[list[dict], list[tuple], list[str | None]]:
    """The posts' rows (question first, then answers, HTML given or rendered), their owners
    ``(thread_id, answer or None)`` and their rendered texts (``None`` where HTML was given)
    in the same order."""
    post_rows, owners, texts = [], [], []
    results = iter(rendered)

    def add(thread_id, post, owner, is_question: bool, when) -> None:
        done = next(results)
        post_rows.append({"thread_id": thread_id, "author_id": directory.user_id(post.author),
                          "is_question": is_question, "body": post.body, "score": post.score,
                          "imported_score": post.score,
                          "body_html": post.body_html if post.body_html is not None else done[0],
                          "created_at": when})
        owners.append((thread_id, owner))
        texts.append(done[1] if post.body_html is None else None)

    for thread_id, (item, asked, answers, _category) in zip(thread_ids, plans):
        add(thread_id, item, None, True, asked)
        for answer, when in answers:
            add(thread_id, answer, answer, False, when)
    return post_rows, owners, texts


def _link_posts(thread_ids, post_ids, owners) -> dict[int, dict]:
    """Point each thread at its question and accepted answer (one executemany)."""
    links: dict[int, dict] = {tid: {"id": tid, "accepted_post_id": None} for tid in thread_ids}
    for post_id, (thread_id, answer) in zip(post_ids, owners):
        if answer is None:
            links[thread_id]["question_post_id"] = post_id
        elif answer.accepted:
            links[thread_id]["accepted_post_id"] = post_id
    threads = Thread.__table__
    db.session.execute(update(threads).where(threads.c.id == bindparam("link_id")).values(
        question_post_id=bindparam("question_post_id"), accepted_post_id=bindparam("accepted_post_id")),
        [{"link_id": link["id"], "question_post_id": link["question_post_id"],
          "accepted_post_id": link["accepted_post_id"]} for link in links.values()])
    return links


def _search_documents(thread_ids, thread_rows, plans, post_rows, post_ids, links, texts) -> list[dict]:
    """Search documents from the same values, through the code the index uses for rebuilds
    (with the texts the workers already took from the HTML they rendered)."""
    from ...search.documents import thread_document

    docs, cursor = [], 0
    for thread_id, row, (item, _asked, answers, category) in zip(thread_ids, thread_rows, plans):
        posts, known = [], {}
        for offset in range(len(answers) + 1):
            values = post_rows[cursor + offset]
            posts.append(SimpleNamespace(id=post_ids[cursor + offset], hidden=False, deleted=False,
                                         visible=True, is_question=values["is_question"], body_html=values["body_html"]))
            if texts[cursor + offset] is not None:
                known[post_ids[cursor + offset]] = texts[cursor + offset]
        cursor += len(answers) + 1
        link = links[thread_id]
        thread = SimpleNamespace(
            id=thread_id, hidden=False, deleted=False, merged_into_id=None, visible=True,
            question_post_id=link["question_post_id"], accepted_post_id=link["accepted_post_id"],
            category=category, category_id=category.id,
            tags=[SimpleNamespace(name=t) for t in sorted(item.tags)], **{
                k: row[k] for k in ("title", "slug", "score", "reply_count", "created_at", "last_activity_at")})
        docs.append(thread_document(thread, posts, texts=known))
    return [d for d in docs if d is not None]


def _checked(records, error: Callable[[int, str], None], progress) -> Iterator[ThreadIn]:
    """The records to import: a line that failed to parse, or an ``external_id`` seen earlier in
    the file, is reported (and counted as progress) instead."""
    seen: set[str] = set()
    for line, record in records:
        if isinstance(record, str):
            error(line, record)
        elif record.external_id in seen:
            error(line, f"external_id {record.external_id!r} appears twice in this file")
        else:
            seen.add(record.external_id)
            yield record
            continue
        if progress:
            progress(1)


def import_records(records: Iterable[tuple[int, ThreadIn | str]], *, commit: Callable[[], None],
                   progress: Callable[[int], None] | None = None, batch_size: int = BATCH_SIZE,
                   on_error: Callable[[int, str], None] | None = None, workers: int = 1,
                   min_pool_texts: int = 200) -> ImportReport:
    """Import ``(line, record or error)`` pairs; bad records are reported and skipped.

    With ``workers > 1``, batches of at least ``min_pool_texts`` posts are
    rendered in that many worker processes, one batch ahead of the writes.
    Every batch is still its own transaction, committed before the next one
    is written, so an interrupted import resumes by running it again.
    """
    from ... import search

    report = ImportReport()

    def error(line: int, message: str) -> None:
        report.errors.append((line, message))
        if on_error:
            on_error(line, message)

    renderer = Renderer(workers, min_pool_texts)
    with search.paused(), search.bulk_writer() as index:
        batches = _Batches(report, renderer, index, commit, progress)
        try:
            batch: list[ThreadIn] = []
            for record in _checked(records, error, progress):
                batch.append(record)
                if len(batch) >= batch_size:
                    batches.submit(batch)
                    batch = []
            batches.submit(batch)
            batches.finish()
        finally:
            renderer.close()
    return report


class _Batches:
    """The batches of one import: each is rendered (in the pool) while the one before it is
    written, then written and committed with its search documents."""

    def __init__(self, report: ImportReport, renderer, index, commit: Callable[[], None], progress):
        self.report, self.renderer, self.index = report, renderer, index
        self.commit, self.progress = commit, progress
        self.directory = _Directory(report)
        #: The batch whose HTML is being rendered: (fresh threads, records read, result getter).
        self.pending: tuple[list[ThreadIn], int, Callable[[], list[Rendered]]] | None = None

    def submit(self, batch: list[ThreadIn]) -> None:
        """Skip what an earlier run imported, start rendering the rest, write the batch before it."""
        if not batch:
            return
        existing = _existing_external_ids([t.external_id for t in batch])
        fresh = [t for t in batch if t.external_id not in existing]
        self.report.skipped += len(batch) - len(fresh)
        if existing:
            self._index_skipped(sorted(existing.values()))
        job = self.renderer.submit(_texts_to_render(fresh)) if fresh else (lambda: [])
        self.finish()
        self.pending = (fresh, len(batch), job)

    def finish(self) -> None:
        """Write the pending batch, if any, and commit it."""
        if self.pending is None:
            return
        fresh, read, rendered = self.pending
        self.pending = None
        if fresh:
            docs = _write_batch(fresh, rendered(), self.directory, self.report)
            self.commit()
            self.report.indexed += self.index.add(docs)  # written beside the next batch (search.bulk_writer)
        if self.progress:
            self.progress(read)

    def _index_skipped(self, thread_ids: list[int]) -> None:
        """Index the skipped threads that have no document: an earlier run that died after
        committing a batch, before its documents were written, is completed by running it again."""
        from ...search.documents import thread_documents, thread_key

        missing = self.index.unindexed(db.session, [thread_key(tid) for tid in thread_ids])
        if missing:
            ids = [int(key.partition(":")[2]) for key in missing]
            docs = [doc for doc in thread_documents(db.session, ids).values() if doc is not None]
            self.report.indexed += self.index.add(docs)
