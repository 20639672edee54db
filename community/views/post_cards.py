"""The thread page's post cards, each drawn once for what it shows and kept in the process.

A member's 50-reply thread page spent two thirds of its time (~15 of ~24 ms, SQLite) drawing
50 cards, each with its vote, accept, edit, delete and moderation forms: the same HTML again
on every request.  A card's HTML is a function of its ``inputs``:

- a snapshot of the post's columns and of the author's columns the card shows (the template
  gets these snapshots, not the ORM objects, so it cannot read anything else of them);
- its kind (question, accepted, answer) and the thread's id;
- what the viewer may do with it (``Rights``: their vote, the vote refusals, accept / edit /
  delete, the moderator's tools with the post's open flags, a member's flag menu), computed
  here with permissions.py, never in the template;
- the "3 minutes ago" texts.

Equal inputs draw equal HTML, so the inputs are the key of a least-recently-used store in
each process (``POST_CARD_CACHE_ENTRIES``; 0 draws every card).  Nothing of one viewer but
these rights is in a key, so two viewers with the same rights share a card and a viewer
with other rights never gets it.  The CSRF token is drawn as a placeholder and put in per
request: a kept card never carries one session's token to another.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import NamedTuple

from flask import current_app
from markupsafe import Markup
from sqlalchemy import inspect

from .. import permissions
from ..models import Post
#: Drawn where the CSRF token goes; replaced by the request's token (or "" on a kept page); the
#: same mark as a kept member's page (page_cache_members.py), which keeps it until served.
from ..page_cache_members import TOKEN_MARK

#: The author's columns a card shows (forum/_post.html, the avatar macro).
AUTHOR_FIELDS = ("id", "username", "role", "avatar", "deleted_at", "reputation_points")


class Author(NamedTuple):
    id: int
    username: str
    role: str
    avatar: str | None
    deleted_at: object
    reputation_points: int | None

    @property
    def reputation(self) -> int:
        return max(1, 1 + (self.reputation_points or 0))

    @property
    def shown_name(self) -> str:
        return "deleted user" if self.deleted_at is not None else self.username


class Rights(NamedTuple):
    """What the viewer sees of one post's controls."""
    mine: int
    up_refusal: str | None
    down_refusal: str | None
    can_accept: bool
    can_edit: bool
    can_delete: bool
    moderator: bool
    open_flags: int
    #: A member's flag menu on someone else's visible post: None, "flagged", "form" or the refusal.
    flag: str | None


class _Store:
    def __init__(self):
        self.cards: OrderedDict[tuple, str] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            html = self.cards.get(key)
            if html is not None:
                self.cards.move_to_end(key)
            return html

    def put(self, key, html: str, most: int) -> None:
        with self.lock:
            self.cards[key] = html
            while len(self.cards) > most:
                self.cards.popitem(last=False)


_columns: tuple[str, ...] | None = None


def _post_columns() -> tuple[str, ...]:
    global _columns
    if _columns is None:
        _columns = tuple(attr.key for attr in inspect(Post).column_attrs)
    return _columns


def rights(viewer, post, thread, my_votes: dict, panels) -> Rights:
    """The viewer's controls on ``post``, as forum/_post.html and moderation/_post_tools.html show them."""
    signed_in = viewer.is_authenticated
    mine = my_votes.get(post.id, 0)
    moderator = permissions.can_moderate(viewer)
    flag = None
    if not moderator and signed_in and post.author_id != viewer.id and not post.hidden:
        if post.id in panels.my_flags:
            flag = "flagged"
        elif permissions.can_flag(viewer, post):
            flag = "form"
        else:
            flag = permissions.flag_refusal(viewer, post) or None
            flag = f"refused:{flag}" if flag else None
    return Rights(
        mine=mine,
        up_refusal=permissions.vote_refusal(viewer, post, 1) if signed_in and mine != 1 else None,
        down_refusal=permissions.vote_refusal(viewer, post, -1) if signed_in and mine != -1 else None,
        can_accept=kind_may_accept(post, thread) and permissions.can_accept(viewer, thread),
        can_edit=permissions.can_edit_post(viewer, post),
        can_delete=permissions.can_delete_post(viewer, post),
        moderator=moderator,
        open_flags=panels.open_flags.get(post.id, 0) if moderator else 0,
        flag=flag,
    )


def kind_may_accept(post, thread) -> bool:
    return not post.is_question and not post.hidden


class Cards:
    """``post_card(post, kind)`` for one page: the viewer's rights, the kept HTML, the token."""

    def __init__(self, viewer, thread, my_votes: dict, panels, token: str):
        self.viewer, self.thread, self.my_votes, self.panels = viewer, thread, my_votes, panels
        self.token = token
        app = current_app._get_current_object()
        self.most = int(app.config.get("POST_CARD_CACHE_ENTRIES", 0))
        self.store = app.extensions.setdefault("post_cards", _Store())
        self.template = app.jinja_env.get_template("forum/_post.html")
        self.ago = app.jinja_env.filters["ago"]
        self.flag_reasons = app.jinja_env.globals.get("moderation_flag_reasons")

    def __call__(self, post, kind: str) -> Markup:
        snapshot = tuple(getattr(post, name) for name in _post_columns())
        author = Author(*(getattr(post.author, name) for name in AUTHOR_FIELDS))
        agos = (self.ago(post.created_at), self.ago(post.edited_at) if post.edited_at else "")
        key = (kind, self.thread.id, snapshot, author, rights(self.viewer, post, self.thread, self.my_votes,
                                                               self.panels), agos)
        html = self.store.get(key) if self.most else None
        if html is None:
            html = self._draw(key)
            if self.most:
                self.store.put(key, html, self.most)
        return Markup(html.replace(TOKEN_MARK, self.token))

    def _draw(self, key) -> str:
        kind, thread_id, snapshot, author, r, (asked_ago, edited_ago) = key
        post = dict(zip(_post_columns(), snapshot))
        post["author"] = author
        return self.template.render(post=_Snapshot(post), kind=kind, thread_id=thread_id, r=r,
                                    asked_ago=asked_ago, edited_ago=edited_ago,
                                    csrf_field=Markup(f'<input type="hidden" name="csrf_token" value="{TOKEN_MARK}">'),
                                    flag_reasons=self.flag_reasons)


class _Snapshot(dict):
    """A post's columns by attribute, for the template (``post.id``)."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None
