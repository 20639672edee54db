"""Contact support: suggestions first, then a ticket (anonymous visitors welcome)."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask import session as cookie_session
from flask_login import current_user

from ..extensions import db
from ..models import Ticket
from ..ratelimit import hit
from ..services.deflection import ask_sessions
from ..services.tickets import contact as contact_service
from . import ask_flow
from .actions import commit_keeping_facts

bp = Blueprint("support", __name__, url_prefix="/support")


def _user():
    return current_user if current_user.is_authenticated else None


@bp.route("/contact", methods=["GET", "POST"])
def contact():
    if request.method == "POST":
        return _submit()
    session = ask_flow.begin_session("contact")
    form = {"subject": request.args.get("subject", ""), "body": "", "name": "", "email": ""}
    if session is not None and session.draft and not form["subject"]:
        form.update(subject=session.draft.get("subject") or session.draft.get("title", ""),
                    body=session.draft.get("body", ""))
    if session is not None and not form["subject"] and request.args.get("resume"):
        form["subject"] = ask_sessions.last_query(session.id) or ""
    suggestions = ask_flow.page_suggestions(session, "contact", form["subject"])
    db.session.commit()
    return _render(form, session, suggestions=suggestions)


def _render(form, session, *, error=None, suggestions=(), preview=False, status=200):
    return render_template("support/contact.html", form=form, error=error, ask_session=session,
                           ask_page="contact", suggestions=suggestions, preview=preview), status


def _submit():
    """Send the request; one commit (the session is kept when the request is refused)."""
    session = ask_flow.form_session("contact")
    form = {k: request.form.get(k, "") for k in ("subject", "body", "name", "email")}
    outcome = commit_keeping_facts(lambda: _send(session, form))
    if outcome.error:
        return _render(form, session, error=outcome.error, status=outcome.status)
    ticket, page = outcome.value
    if ticket is None:
        return page
    cookie_session["contact_ticket"] = ticket.id
    return redirect(url_for("support.sent"))


def _send(session, form):
    """``(ticket, None)`` once sent, or ``(None, page)`` for the no-JS matches-first step."""
    contact_service.clean_request(form["subject"], form["body"], user=_user(), name=form["name"],
                                  email=form["email"])
    matches = ask_flow.needs_preview(session, "contact", form["subject"])
    if matches:
        if session is not None:
            ask_sessions.save_draft(session, form)
        return None, _render(form, session, suggestions=matches, preview=True)
    hit("CONTACT_RATE_LIMIT", key=f"ip:{request.remote_addr}")
    ticket = contact_service.submit(subject=form["subject"], body=form["body"], user=_user(),
                                    name=form["name"], email=form["email"], session=session)
    return ticket, None


@bp.get("/contact/sent")
def sent():
    """The confirmation page (only for the browser that sent the request)."""
    ticket_id = cookie_session.get("contact_ticket")
    ticket = db.session.get(Ticket, ticket_id) if ticket_id else None
    if ticket is None:
        return redirect(url_for("support.contact"))
    return render_template("support/sent.html", ticket=ticket)
