"""Mail rendered from ``templates/mail/<name>.txt`` and ``.html`` and queued in the outbox."""
from __future__ import annotations

from email.utils import make_msgid

from flask import current_app

from ...extensions import db
from ...models import OutboxMessage

CHANNEL = "email"

#: Subject lines by template; formatted with the template's context.
SUBJECTS = {
    "email_change_confirm": "Confirm your new email address for {site}",
    "email_change_notice": "Your {site} email address is being changed",
    "password_reset": "Reset your {site} password",
    "notification": "{subject}",
    "digest": "Your {site} digest: {count} new",
    "sso_link_confirm": "Join your company sign-in to your {site} account",
}


def _template(path: str):
    """A mail template without the page's context processors (no request, no signed-in user here);
    ``.html`` is autoescaped, ``.txt`` is not (Flask's rule by extension)."""
    return current_app.jinja_env.get_template(path)


def render(name: str, **context) -> dict:
    """Subject, plain-text and HTML parts of one mail."""
    site = current_app.config["SITE_NAME"]
    context = {"site": site, **context}
    return {
        "subject": SUBJECTS[name].format(**context),
        "text": _template(f"mail/{name}.txt").render(**context),
        "html": _template(f"mail/{name}.html").render(**context),
    }


def payload_for(name: str, *, to: str, user=None, headers: dict | None = None, secret: bool = False,
                **context) -> dict:
    """The outbox payload of one rendered mail.  ``secret``: the body holds a credential (a reset
    link), removed from the row once sent."""
    parts = render(name, user=user, **context)
    domain = (current_app.config.get("MAIL_FROM") or "community@localhost").rpartition("@")[2].strip(">") \
        or "localhost"
    return {"template": name, "to": to, "user_id": getattr(user, "id", None), "secret": secret,
            "message_id": make_msgid(domain=domain), "headers": headers or {}, **parts}


def queue(name: str, *, to: str, user=None, headers: dict | None = None, secret: bool = False,
          **context) -> OutboxMessage:
    """Render and queue one mail in the caller's transaction (nothing is sent here)."""
    message = OutboxMessage(channel=CHANNEL, user_id=getattr(user, "id", None),
                            payload=payload_for(name, to=to, user=user, headers=headers, secret=secret,
                                                **context))
    db.session.add(message)
    return message


def holds_accept_links(items: list[dict]) -> bool:
    """A mail listing an accept reminder's answers carries one-click accept links, which act
    without signing in: a credential like a reset link."""
    return any(item.get("answers") for item in items)


def redacted(payload: dict) -> dict:
    """What stays of a sent mail whose body held a credential (the items keep their messages and
    thread links, not their answers' accept links)."""
    kept = {**payload, "text": "[removed after sending]", "html": "[removed after sending]"}
    if "items" in payload:
        kept["items"] = [{key: value for key, value in item.items() if key != "answers"}
                         for item in payload["items"]]
    return kept
