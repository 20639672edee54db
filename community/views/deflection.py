"""Suggestion links, the page beacon and the thread prompt ("This solved my problem" /
"I still need help").  The rules live in ``services/deflection/confirming.py``.

A suggestion link goes through ``/ask/open/...``, which records ``suggestion_opened``
and forwards to the thread (or idea), whose URL the server computes.  The thread page
then shows the prompt, from ``templates/deflection/_thread_prompt.html``, when
``?from_suggestion=SESSION`` names one of this visitor's sessions that opened it.
"""
from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from flask import Blueprint, abort, flash, g, jsonify, redirect, request, url_for

from .. import urls
from ..extensions import db
from ..models import Article, Thread
from ..services.deflection import ask_sessions, confirming, guards, visitors
from ..services.errors import NotFound

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


@bp.before_app_request
def thread_prompt_context():
    """On a thread opened from a suggestion, tell the prompt partial which session it is."""
    if request.endpoint != "forum.thread" or not request.args.get("from_suggestion"):
        return
    session = ask_sessions.request_session(request.args.get("from_suggestion"))
    state = confirming.prompt_state(session, (request.view_args or {}).get("thread_id"))
    if state is not None:
        g.deflection_prompt = {**state, "via": _via(), "back_url": url_for(PAGES[_via()])}


@bp.get("/ask/open/<session_id>/<kind>/<int:target_id>")
@counted
def open_suggestion(session_id: str, kind: str, target_id: int):
    """Record that a suggestion was opened, then go to it."""
    if kind == "article":
        # Articles are not yet counted as deflections (see docs/kb.md): go to the published article.
        article = db.session.get(Article, target_id)
        if article is None or article.state != "published":
            abort(404)
        return redirect(urls.article_url(article))
    if kind not in ("thread", "idea"):
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


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.post("/ask/confirm")
@counted
def confirm():
    """"This solved my problem": counted once per session, for a thread it was shown and opened."""
    session = ask_sessions.request_session(request.form.get("session"))
    thread_id = request.form.get("thread_id", type=int)
    try:
        counted_now = confirming.confirm(session, thread_id)
    except NotFound:
        thread = db.session.get(Thread, thread_id) if thread_id else None
        if _wants_json() or thread is None or not thread.visible:
            raise
        db.session.commit()
        flash("Thanks! This thread was not opened from your search, so nothing was recorded.", "info")
        return redirect(urls.thread_url(thread))
    db.session.commit()
    thread = db.session.get(Thread, thread_id)
    if _wants_json():
        return jsonify({"ok": True, "counted": counted_now, "session": session.id, "thread_id": thread.id})
    flash("Glad it helped! Thanks for telling us: it helps others find this answer.", "success")
    return redirect(urls.thread_url(thread) + "?" + urlencode({"from_suggestion": session.id, "via": _via()}))


@bp.post("/ask/still-need-help")
def still_need_help():
    """Back to the form the visitor came from, with what they typed."""
    session = ask_sessions.request_session(request.form.get("session"))
    thread_id = request.form.get("thread_id", type=int)
    if session is not None:
        thread = db.session.get(Thread, thread_id) if thread_id else None
        ask_sessions.record_event(session.id, "still_need_help", thread_id=thread.id if thread else None)
        db.session.commit()
    return redirect(url_for(PAGES[_via()], resume=1))
