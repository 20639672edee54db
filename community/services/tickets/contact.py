"""The Contact-support form: validate a request, open a ticket, record the contact.

Logged-in users and anonymous visitors (name and email) alike, as a helpdesk's
web form.  The ticket carries what the visitor searched for and opened in their
ask session, so the agent sees what did not help.  Callers rate-limit and commit.
"""
from __future__ import annotations

import re

from flask import current_app
from sqlalchemy import select

from ...extensions import db
from ...models import AskEvent, AskSession, Ticket, User
from ..deflection import ask_sessions
from ..errors import ValidationError
from .workflow import open_ticket

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
SUBJECT_MIN, SUBJECT_MAX = 5, 200
BODY_MIN = 10


def clean_request(subject: str | None, body: str | None, *, user: User | None,
                  name: str | None, email: str | None) -> dict:
    """The validated fields, or a ValidationError naming the first bad one."""
    subject = re.sub(r"\s+", " ", subject or "").strip()
    body = (body or "").strip()
    if len(subject) < SUBJECT_MIN:
        raise ValidationError(f"Say in a few words what the problem is (at least {SUBJECT_MIN} characters).",
                              field="subject")
    if len(subject) > SUBJECT_MAX:
        raise ValidationError(f"The subject must be at most {SUBJECT_MAX} characters.", field="subject")
    if len(body) < BODY_MIN:
        raise ValidationError(f"Describe the problem (at least {BODY_MIN} characters).", field="body")
    if len(body) > current_app.config["BODY_MAX_LENGTH"]:
        raise ValidationError(f"The description must be at most {current_app.config['BODY_MAX_LENGTH']:,} characters.",
                              field="body")
    if user is None:
        name = re.sub(r"\s+", " ", name or "").strip()
        email = (email or "").strip()
        if not name:
            raise ValidationError("Tell us your name.", field="name")
        if len(name) > 80:
            raise ValidationError("The name must be at most 80 characters.", field="name")
        if len(email) > 254 or not EMAIL_RE.match(email):
            raise ValidationError("Enter an email address we can reply to.", field="email")
    else:
        name, email = user.username, user.email
    return {"subject": subject, "body": body, "name": name, "email": email}


def submit(*, subject: str | None, body: str | None, user: User | None = None,
           name: str | None = None, email: str | None = None,
           session: AskSession | None = None) -> Ticket:
    """Open the ticket and record ``support_request`` in the visitor's ask session."""
    fields = clean_request(subject, body, user=user, name=name, email=email)
    context = {"queries": [], "opened": [], "page": "contact"}
    if session is not None:
        context["queries"] = ask_sessions.session_queries(session.id)
        context["opened"] = _opened(session.id)
        context["arm"] = session.arm
    ticket = open_ticket(source="contact", subject=fields["subject"], body=fields["body"],
                         requester=user, requester_name=fields["name"],
                         requester_email=fields["email"],
                         ask_session_id=session.id if session is not None else None, context=context)
    ask_sessions.record_support_request(session, ticket)
    return ticket


def _opened(session_id: str) -> list[str]:
    rows = db.session.execute(
        select(AskEvent.thread_id, AskEvent.idea_id).where(
            AskEvent.session_id == session_id, AskEvent.kind == "suggestion_opened").order_by(AskEvent.id))
    seen: list[str] = []
    for thread_id, idea_id in rows:
        key = f"thread:{thread_id}" if thread_id else f"idea:{idea_id}"
        if key not in seen:
            seen.append(key)
    return seen
