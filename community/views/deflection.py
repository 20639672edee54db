"""Suggestion links, the page beacon and the thread prompt ("This solved my problem" /
"I still need help").  The rules live in ``services/deflection/confirming.py``.

A suggestion link goes through ``/ask/open/...``, which records ``suggestion_opened``
and forwards to the thread, article (or idea), whose URL the server computes.  The
thread and article pages then show the prompt (``templates/deflection/_prompt.html``,
state from :func:`prompt_for`) when ``?from_suggestion=SESSION`` names one of this
visitor's sessions that opened it.
"""
from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from flask import Blueprint, abort, flash, jsonify, redirect, request, url_for

from ..extensions import db
from ..models import Article, Thread
from ..services.deflection import ask_sessions, confirming, guards, visitors
from ..services.errors import NotFound
from .actions import wants_json

bp = Blueprint("deflection", __name__)

PAGES = {"ask": "forum.ask", "contact": "support.contact"}


def _via() -> str:
    via = request.values.get("via")
    return via if via in PAGES else "ask"


bp.after_app_request(visitors.set_visitor_cookie)


def counted(view):
    """Keep the count of a refused request: roll back its writes, count, commit, re-raise."""
    @wraps(view)
    def wrapped(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except guards.Refused as exc:
            db.session.rollback()
            guards.count_refusal(exc.reason)
            db.session.commit()
            raise
        except NotFound:
            db.session.commit()  # keeps the refusal counted by the service; nothing else was written
            raise
    return wrapped


def prompt_for(kind: str, target_id: int) -> dict | None:
    """The "Did this solve your problem?" prompt of a thread or article page opened from a
    suggestion of this visitor's session (``?from_suggestion=``), else None."""
    if not request.args.get("from_suggestion"):
        return None
    session = ask_sessions.request_session(request.args.get("from_suggestion"))
    state = confirming.prompt_state(session, kind, target_id)
    return {**state, "via": _via()} if state is not None else None


@bp.get("/ask/open/<session_id>/<kind>/<int:target_id>")
@counted
def open_suggestion(session_id: str, kind: str, target_id: int):
    """Record that a suggestion was opened, then go to it."""
    if kind not in ("thread", "article", "idea"):
        abort(404)
    opened = confirming.open_suggestion(ask_sessions.request_session(session_id), kind, target_id,
                                        via=_via())
    db.session.commit()
    return redirect(opened.url)


@bp.post("/ask/beacon")
def beacon():
    """The Ask/Contact page's script reports in: the session is a browser running the page."""
    session = ask_sessions.request_session(request.form.get("session"))
    if session is None:
        return jsonify({"ok": False}), 404
    ask_sessions.record_beacon(session)
    db.session.commit()
    return jsonify({"ok": True})


@bp.post("/ask/confirm")
@counted
def confirm():
    """"This solved my problem": counted once per session, for a thread it was shown and opened."""
    session = ask_sessions.request_session(request.form.get("session"))
    thread_id = request.form.get("thread_id", type=int)
    article_id = None if thread_id else request.form.get("article_id", type=int)
    try:
        counted_now = confirming.confirm(session, thread_id, article_id=article_id)
    except NotFound:
        url = _page_of(thread_id, article_id)
        if wants_json() or url is None:
            raise
        db.session.commit()
        flash("Thanks! This page was not opened from your search, so nothing was recorded.", "info")
        return redirect(url)
    db.session.commit()
    if wants_json():
        target = {"thread_id": thread_id} if thread_id else {"article_id": article_id}
        return jsonify({"ok": True, "counted": counted_now, "session": session.id, **target})
    flash("Glad it helped! Thanks for telling us: it helps others find this answer.", "success")
    return redirect(_page_of(thread_id, article_id) + "?" + urlencode({"from_suggestion": session.id,
                                                                      "via": _via()}))


def _page_of(thread_id: int | None, article_id: int | None) -> str | None:
    return confirming.page_url("thread", thread_id) if thread_id else confirming.page_url("article", article_id)


@bp.post("/ask/still-need-help")
def still_need_help():
    """Back to the form the visitor came from, with what they typed."""
    session = ask_sessions.request_session(request.form.get("session"))
    thread_id = request.form.get("thread_id", type=int)
    article_id = request.form.get("article_id", type=int)
    if session is not None:
        thread = db.session.get(Thread, thread_id) if thread_id else None
        article = db.session.get(Article, article_id) if article_id and not thread else None
        ask_sessions.record_event(session.id, "still_need_help", thread_id=thread.id if thread else None,
                                  article_id=article.id if article else None)
        db.session.commit()
    return redirect(url_for(PAGES[_via()], resume=1))
