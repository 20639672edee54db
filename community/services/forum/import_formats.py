"""Reading import sources into :class:`ThreadIn` records: JSONL (our format) and Stack Exchange dumps.

JSONL, one thread a line::

    {"external_id": "kb-1", "title": "...", "body": "Markdown", "author": "name",
     "category": "Billing", "tags": ["invoice"], "created_at": "2024-03-01T10:00:00Z",
     "answers": [{"body": "...", "author": "...", "created_at": "...", "accepted": true}]}

Optional extras: ``score`` and ``views`` on the thread, ``score`` on answers.
A Stack Exchange ``Posts.xml`` gives questions (``se:<Id>``), their answers,
the accepted answer, scores, view counts, dates and tags; bodies there are
HTML, kept sanitized as ``body_html`` and converted to Markdown-ish text as
``body``.  Readers yield ``(line_number, ThreadIn | error message)`` so the
importer can report a bad record and go on.
"""
from __future__ import annotations

import html
import json
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree

TITLE_MAX = 200
EXTERNAL_ID_MAX = 120
TAG_MAX = 30
MAX_TAGS = 5


@dataclass
class AnswerIn:
    body: str
    author: str
    created_at: datetime | None = None
    accepted: bool = False
    score: int = 0
    #: Already-sanitized HTML (Stack Exchange); None means "render ``body`` as Markdown".
    body_html: str | None = None


@dataclass
class ThreadIn:
    external_id: str
    title: str
    body: str
    author: str
    category: str
    tags: list[str] = field(default_factory=list)
    created_at: datetime | None = None
    score: int = 0
    views: int = 0
    answers: list[AnswerIn] = field(default_factory=list)
    body_html: str | None = None


class RecordError(ValueError):
    """A record that cannot be imported; the message says which field and why."""


# -- common field parsing ---------------------------------------------------------

def parse_datetime(value, name: str = "created_at") -> datetime | None:
    """ISO 8601 (with or without a zone, ``Z`` allowed) or Unix seconds, to naive UTC."""
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC).replace(tzinfo=None)
        except (OverflowError, OSError, ValueError):
            raise RecordError(f"{name}: not a valid timestamp") from None
    if not isinstance(value, str):
        raise RecordError(f"{name}: expected an ISO 8601 date")
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise RecordError(f"{name}: {value[:40]!r} is not an ISO 8601 date") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def _text(data: dict, name: str, *, required: bool = True, max_length: int | None = None,
          default: str = "") -> str:
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise RecordError(f"{name}: missing")
        return default
    if isinstance(value, (int, float)) and not isinstance(value, bool) and name == "external_id":
        value = str(value)
    if not isinstance(value, str):
        raise RecordError(f"{name}: expected a string")
    value = value.strip()
    if max_length and len(value) > max_length:
        raise RecordError(f"{name}: longer than {max_length} characters")
    return value


def _int(data: dict, name: str) -> int:
    value = data.get(name, 0)
    if value in (None, ""):
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise RecordError(f"{name}: expected a number")
    try:
        return int(value)
    except ValueError:
        raise RecordError(f"{name}: expected a number") from None


def clean_tags(raw) -> list[str]:
    """Tags as the forum allows them: lower case, ``[a-z0-9+#.-]``, at most five, no duplicates."""
    if raw in (None, ""):
        return []
    if isinstance(raw, str):
        items = re.split(r"[,\s|<>]+", raw)
    elif isinstance(raw, list) and all(isinstance(item, str) for item in raw):
        items = raw
    else:
        raise RecordError("tags: expected a list of strings")
    tags: list[str] = []
    for item in items:
        name = re.sub(r"[^a-z0-9+#.\-]+", "-", item.strip().lower().lstrip("#")).strip("-.")[:TAG_MAX]
        name = name.rstrip("-.")
        if name and name[0].isalnum() and name not in tags:
            tags.append(name)
    return tags[:MAX_TAGS]


def thread_from_json(data) -> ThreadIn:
    if not isinstance(data, dict):
        raise RecordError("expected a JSON object")
    title = re.sub(r"\s+", " ", _text(data, "title", max_length=TITLE_MAX))
    answers_raw = data.get("answers") or []
    if not isinstance(answers_raw, list):
        raise RecordError("answers: expected a list")
    answers = []
    for number, item in enumerate(answers_raw, start=1):
        if not isinstance(item, dict):
            raise RecordError(f"answers[{number}]: expected an object")
        try:
            answers.append(AnswerIn(
                body=_text(item, "body"), author=_text(item, "author", required=False),
                created_at=parse_datetime(item.get("created_at")), accepted=bool(item.get("accepted")),
                score=_int(item, "score"),
            ))
        except RecordError as exc:
            raise RecordError(f"answers[{number}].{exc}") from None
    if sum(1 for a in answers if a.accepted) > 1:
        raise RecordError("answers: more than one accepted answer")
    return ThreadIn(
        external_id=_text(data, "external_id", max_length=EXTERNAL_ID_MAX),
        title=title, body=_text(data, "body"), author=_text(data, "author", required=False),
        category=_text(data, "category", required=False, max_length=80),
        tags=clean_tags(data.get("tags")), created_at=parse_datetime(data.get("created_at")),
        score=_int(data, "score"), views=max(0, _int(data, "views")), answers=answers,
    )


def read_jsonl(path: str | Path) -> Iterator[tuple[int, ThreadIn | str]]:
    """``(line number, record or error message)`` for each non-blank line."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except ValueError as exc:
                yield number, f"invalid JSON: {exc.msg} (column {exc.colno})"
                continue
            try:
                yield number, thread_from_json(data)
            except RecordError as exc:
                yield number, str(exc)


# -- Stack Exchange ---------------------------------------------------------------

#: The tags every Stack Exchange meta site requires, as categories here.
SE_CATEGORIES = (("bug", "Bug reports"), ("feature-request", "Feature requests"),
                 ("support", "Support"), ("discussion", "Discussion"))
SE_DEFAULT_CATEGORY = "General"


def html_to_markdown(markup: str) -> str:
    """A readable Markdown-ish source for HTML bodies (the HTML itself is kept, sanitized)."""
    text = markup or ""
    text = re.sub(r"(?is)<pre[^>]*>\s*<code[^>]*>(.*?)</code>\s*</pre>",
                  lambda m: "\n```\n" + m.group(1) + "\n```\n", text)
    text = re.sub(r"(?is)<code[^>]*>(.*?)</code>", r"`\1`", text)
    text = re.sub(r'(?is)<a\s[^>]*href="([^"]*)"[^>]*>(.*?)</a>', r"[\2](\1)", text)
    text = re.sub(r"(?is)</?(strong|b)>", "**", text)
    text = re.sub(r"(?is)</?(em|i)>", "*", text)
    text = re.sub(r"(?is)<li[^>]*>", "\n- ", text)
    text = re.sub(r"(?is)<h([1-6])[^>]*>", lambda m: "\n" + "#" * int(m.group(1)) + " ", text)
    text = re.sub(r"(?is)<blockquote[^>]*>", "\n> ", text)
    text = re.sub(r"(?is)<br\s*/?>", "\n", text)
    text = re.sub(r"(?is)</(p|div|h[1-6]|ul|ol|blockquote|pre)>", "\n\n", text)
    text = re.sub(r"(?s)<[^>]+>", "", text)
    text = html.unescape(text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _se_date(value: str | None) -> datetime | None:
    return parse_datetime(value) if value else None


def _se_author(row: dict) -> str:
    if row.get("OwnerUserId"):
        return f"se_user_{row['OwnerUserId']}"
    return row.get("OwnerDisplayName") or "se_community"


def _se_category(tags: list[str]) -> str:
    for tag, name in SE_CATEGORIES:
        if tag in tags:
            return name
    return SE_DEFAULT_CATEGORY


def read_stackexchange(directory: str | Path, sanitize) -> Iterator[tuple[int, ThreadIn | str]]:
    """Questions of ``DIR/Posts.xml`` with their answers; ``sanitize(html)`` cleans bodies.

    The number given with each record (and error) is the ``<row>``'s position in the file.
    """
    path = Path(directory) / "Posts.xml"
    if not path.exists():
        yield 0, f"{path}: not found (a Stack Exchange dump directory holds Posts.xml)"
        return
    questions: list[tuple[int, dict]] = []
    answers: dict[str, list[dict]] = defaultdict(list)
    try:
        for number, (_event, element) in enumerate(ElementTree.iterparse(path, events=("end",)), start=1):
            if element.tag != "row":
                continue
            row = dict(element.attrib)
            element.clear()
            if row.get("PostTypeId") == "1":
                questions.append((number, row))
            elif row.get("PostTypeId") == "2" and row.get("ParentId"):
                answers[row["ParentId"]].append(row)
    except ElementTree.ParseError as exc:
        yield exc.position[0], f"{path.name}: XML error: {exc}"
    for number, row in questions:
        try:
            tags = clean_tags(row.get("Tags", ""))
            title = re.sub(r"\s+", " ", html.unescape(row.get("Title") or "")).strip()
            if not title:
                raise RecordError("Title: missing")
            accepted_id = row.get("AcceptedAnswerId")
            thread_answers = [
                AnswerIn(body=html_to_markdown(a.get("Body", "")) or "(empty)", author=_se_author(a),
                         created_at=_se_date(a.get("CreationDate")), accepted=a.get("Id") == accepted_id,
                         score=int(a.get("Score") or 0), body_html=sanitize(a.get("Body", "")))
                for a in sorted(answers.get(row.get("Id"), []), key=lambda a: int(a["Id"]))
            ]
            yield number, ThreadIn(
                external_id=f"se:{row['Id']}", title=title[:TITLE_MAX],
                body=html_to_markdown(row.get("Body", "")) or title, author=_se_author(row),
                category=_se_category(tags), tags=tags, created_at=_se_date(row.get("CreationDate")),
                score=int(row.get("Score") or 0), views=int(row.get("ViewCount") or 0),
                answers=thread_answers, body_html=sanitize(row.get("Body", "")),
            )
        except (RecordError, ValueError, KeyError) as exc:
            yield number, f"question {row.get('Id', '?')}: {exc}"
