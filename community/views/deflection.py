"""Suggestion links and the thread prompt: "This solved my problem" / "I still need help".

A suggestion link goes through ``/ask/open/...``, which records ``suggestion_opened``
and forwards to the thread (or idea).  The thread page then shows the prompt, from
``templates/deflection/_thread_prompt.html``, when ``?from_suggestion=SESSION`` names
one of this visitor's sessions.
"""
from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, abort, flash, g, jsonify, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select

from .. import permissions, urls
from ..extensions import db
from ..models import Article, AskEvent, Idea, Thread
from ..services.deflection import ask_sessions
from .ask_flow import session_from_arg, set_visitor_cookie

bp = Blueprint("deflection", __name__)

PAGES = {"ask": "forum.ask", "contact": "support.contact"}


def _via() -> str:
    via = request.values.get("via")
    return via if via in PAGES else "ask"


bp.after_app_request(set_visitor_cookie)


@bp.before_app_request
def thread_prompt_context():
    """On a thread opened from a suggestion, tell the prompt partial which session it is."""
    if request.endpoint != "forum.thread" or not request.args.get("from_suggestion"):
        return
    session = session_from_arg(request.args.get("from_suggestion"))
    if session is None:
        return
    thread_id = (request.view_args or {}).get("thread_id")
    kinds = set(db.session.execute(
        select(AskEvent.kind).where(AskEvent.session_id == session.id, AskEvent.thread_id == thread_id,
                                    AskEvent.kind.in_(("suggestion_opened", "confirmed")))).scalars())
    if "suggestion_opened" not in kinds:
        return
    confirmed = "confirmed" in kinds
    g.deflection_prompt = {"session_id": session.id, "via": _via(), "confirmed": confirmed,
                           "back_url": url_for(PAGES[_via()])}


@bp.get("/ask/open/<session_id>/<kind>/<int:target_id>")
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
    session = session_from_arg(session_id)
    if kind == "thread":
        thread = db.session.get(Thread, target_id)
        if thread is None or not permissions.can_view_thread(current_user, thread):
            abort(404)  # a hidden or deleted thread's title must not leak through its slug
        target = urls.thread_url(thread)
        if session is not None:
            target += "?" + urlencode({"from_suggestion": session.id, "via": _via()})
    else:
        idea = db.session.get(Idea, target_id)
        if idea is None:
            abort(404)
        target = urls.idea_url(idea)  # computed here: a client-supplied target would be an open redirect
    if session is not None:
        ask_sessions.record_opened(session.id, kind, target_id)
        db.session.commit()
    return redirect(target)


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.post("/ask/confirm")
def confirm():
    """"This solved my problem": recorded once per thread per session."""
    session = session_from_arg(request.form.get("session"))
    thread_id = request.form.get("thread_id", type=int)
    thread = db.session.get(Thread, thread_id) if thread_id else None
    if thread is None:
        abort(404)
    opened = session is not None and db.session.execute(
        select(AskEvent.id).where(AskEvent.session_id == session.id,
                                  AskEvent.kind == "suggestion_opened",
                                  AskEvent.thread_id == thread.id).limit(1)).first() is not None
    if not opened:
        if _wants_json():
            return jsonify({"error": {"code": "not_found",
                                      "message": "This thread was not opened from your search."}}), 404
        flash("Thanks! This thread was not opened from your search, so nothing was recorded.", "info")
        return redirect(urls.thread_url(thread))
    ask_sessions.record_confirmed(session.id, thread.id)
    db.session.commit()
    if _wants_json():
        return jsonify({"ok": True, "session": session.id, "thread_id": thread.id})
    flash("Glad it helped! Thanks for telling us: it helps others find this answer.", "success")
    return redirect(urls.thread_url(thread) + "?" + urlencode({"from_suggestion": session.id, "via": _via()}))


@bp.post("/ask/still-need-help")
def still_need_help():
    """Back to the form the visitor came from, with what they typed."""
    session = session_from_arg(request.form.get("session"))
    thread_id = request.form.get("thread_id", type=int)
    if session is not None:
        thread = db.session.get(Thread, thread_id) if thread_id else None
        ask_sessions.record_event(session.id, "still_need_help", thread_id=thread.id if thread else None)
        db.session.commit()
    return redirect(url_for(PAGES[_via()], resume=1))
