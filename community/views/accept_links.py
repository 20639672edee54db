"""``/accept/<token>``: accepting an answer from the reminder mail, without signing in.

GET shows the answer and a button (it changes nothing: mail scanners and link previews open
links); the button POSTs, with the page's CSRF token, and the service spends the link and
accepts (``services/mail/accept_links.py``).  The signed link is the credential.
"""
from __future__ import annotations

from flask import Blueprint, render_template

from ..services.errors import ServiceError
from ..services.mail import accept_links
from ..urls import thread_url
from .actions import commit

bp = Blueprint("accept_links", __name__)


@bp.get("/accept/<token>")
def confirm(token: str):
    try:
        link = accept_links.read(token)
    except ServiceError as exc:
        return render_template("forum/accept_link.html", error=exc), exc.status
    return render_template("forum/accept_link.html", link=link, token=token,
                           post_url=thread_url(link.thread, link.post.id))


@bp.post("/accept/<token>")
def accept(token: str):
    outcome = commit(lambda: accept_links.accept(token))
    if outcome.error:
        return render_template("forum/accept_link.html", error=outcome.error), outcome.status
    link = outcome.value
    return render_template("forum/accept_link.html", done=True, link=link,
                           post_url=thread_url(link.thread, link.post.id))
