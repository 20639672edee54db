"""Reply by email: the ``Reply-To`` address of notification mails, and reading what comes back.

A notification about a thread is sent with ``Reply-To: reply+TOKEN@<domain>``.  The token
names the member and the thread and is signed (HMAC-SHA256 with ``SECRET_KEY``), with the
time it was made: ``<user>x<thread>x<hex time>x<24 hex of MAC>``, lower case only (some mail
servers fold the case of local parts) and short enough for the 64-character local part.

``read(raw)`` (``flask --app community mail receive``, fed one message on standard input by
the MTA) finds the token among the recipients, checks it, and keeps only the new text: the
quoted message, the "On ... wrote:" line, the signature and the phone's footer go.  The CLI
checks ``permissions.can_reply``, ``claim``s the message by its ``Message-ID`` (the same mail
delivered twice, or ten times at once, posts once: the unique key of ``inbound_mail``
decides) and posts it with ``forum.threads.add_reply``.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ...extensions import db
from ...models import InboundMail, Thread, User
from ..errors import NotFound, PermissionDenied, ValidationError

SALT = b"reply-by-email-v1"
TOKEN_RE = re.compile(r"^(\d{1,10})x(\d{1,10})x([0-9a-f]{1,10})x([0-9a-f]{24})$")
RECIPIENT_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "To", "Cc")


class Expired(ValidationError):
    """A genuine token past ``MAIL_REPLY_MAX_AGE_DAYS``."""


@dataclass(frozen=True)
class Reply:
    user: User
    thread: Thread
    body: str
    sender: str
    #: What identifies this mail across deliveries (``message_key``).
    key: str


def _mac(user_id: int, thread_id: int, stamp: str) -> str:
    key = current_app.config["SECRET_KEY"].encode() + SALT
    return hmac.new(key, f"{user_id}:{thread_id}:{stamp}".encode(), hashlib.sha256).hexdigest()[:24]


def token(user_id: int, thread_id: int, now: float | None = None) -> str:
    stamp = format(int(now if now is not None else time.time()), "x")
    return f"{user_id}x{thread_id}x{stamp}x{_mac(user_id, thread_id, stamp)}"


def _domain() -> str | None:
    domain = current_app.config.get("MAIL_REPLY_DOMAIN")
    if not domain:
        address = parseaddr(current_app.config.get("MAIL_FROM") or "")[1]
        domain = address.rpartition("@")[2] if "@" in address else None
    return domain or None


def reply_address(user_id: int, thread_id: int) -> str | None:
    """``reply+TOKEN@domain`` for a mail about ``thread_id`` to ``user_id``; None without a domain."""
    domain = _domain()
    local = current_app.config.get("MAIL_REPLY_LOCAL_PART") or ""
    return f"{local}+{token(user_id, thread_id)}@{domain}" if domain and local else None


def check_token(value: str) -> tuple[int, int]:
    """The (user id, thread id) a token names; ``ValidationError`` if forged, ``Expired`` if old."""
    match = TOKEN_RE.match((value or "").strip().lower())
    if not match:
        raise ValidationError("This reply address is not one of ours.", field="token")
    user_id, thread_id, stamp, mac = int(match[1]), int(match[2]), match[3], match[4]
    if not hmac.compare_digest(mac, _mac(user_id, thread_id, stamp)):
        raise ValidationError("This reply address is not valid (its signature does not match).", field="token")
    if time.time() - int(stamp, 16) > current_app.config["MAIL_REPLY_MAX_AGE_DAYS"] * 86400:
        raise Expired("This reply address has expired: answer on the website instead.", field="token")
    return user_id, thread_id


def find_token(message, recipient: str | None = None) -> str:
    """The token of the first recipient ``local+TOKEN@`` (the MTA's ``recipient`` first)."""
    local = (current_app.config.get("MAIL_REPLY_LOCAL_PART") or "reply").lower()
    candidates = [recipient] if recipient else []
    for header in RECIPIENT_HEADERS:
        candidates += [addr for _, addr in getaddresses(message.get_all(header, []))]
    for address in candidates:
        name = (address or "").strip().lower().rpartition("@")[0]
        if name.startswith(local + "+"):
            return name[len(local) + 1:]
    raise ValidationError("The message is not addressed to a reply address (reply+…@).", field="token")


def read(raw: bytes, recipient: str | None = None) -> Reply:
    """The member, the thread and the new text of one raw message (see the module docstring)."""
    message = message_from_bytes(raw, policy=policy.default)
    user_id, thread_id = check_token(find_token(message, recipient))
    user, thread = db.session.get(User, user_id), db.session.get(Thread, thread_id)
    if user is None or user.deleted_at is not None:
        raise NotFound("The account this reply address belongs to no longer exists.")
    if thread is None:
        raise NotFound("The thread this reply address belongs to no longer exists.")
    sender = parseaddr(str(message.get("From", "")))[1]
    if sender.strip().lower() != user.email.lower():
        raise PermissionDenied("Send your reply from the address the notification went to.")
    body = strip_quoted(_text_of(message))
    if not body:
        raise ValidationError("The reply is empty once the quoted message is removed.", field="body")
    return Reply(user, thread, body, sender, message_key(message, raw))


def message_key(message, raw: bytes) -> str:
    """The mail's ``Message-ID`` (without its angle brackets), or ``sha256:<hex>`` of the raw
    bytes when it has none or one too long to keep: a redelivery carries the same either way."""
    value = " ".join(str(message.get("Message-ID") or "").split()).strip("<> ")
    if value and len(value) <= 255:
        return value
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def claim(key: str) -> tuple[InboundMail | None, int | None]:
    """Record the mail ``key`` as received: ``(row, None)`` for the first delivery, ``(None, post
    id or None)`` when it came before.  The insert runs in a savepoint, so a concurrent delivery
    that commits first makes ours a duplicate (PostgreSQL waits on the unique index for it;
    SQLite's writers are serialized) rather than an error.  The caller sets ``row.post_id``."""
    row = InboundMail(message_key=key)
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        earlier = db.session.execute(select(InboundMail.post_id).where(InboundMail.message_key == key)).first()
        return None, earlier[0] if earlier else None
    return row, None


def _text_of(message) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = part.get_content()
    return html_to_text(content) if part.get_content_type() == "text/html" else content


class _HtmlText(HTMLParser):
    """The text of an HTML reply up to the quoted message (a ``blockquote``, Gmail's
    ``gmail_quote``, Outlook's ``divRplyFwdMsg``): everything after it is the earlier mail.
    Styles and scripts are skipped; block ends become line breaks.  Linear in the input."""

    INVISIBLE = {"style", "script", "head", "title"}
    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "pre"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.invisible = 0
        self.quoted = False

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "blockquote" or "gmail_quote" in (values.get("class") or "") \
                or values.get("id") in ("divRplyFwdMsg", "appendonsend"):
            self.quoted = True
        elif tag in self.INVISIBLE:
            self.invisible += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.INVISIBLE and self.invisible:
            self.invisible -= 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.quoted and not self.invisible:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)


#: Where the new text ends: a quoted line, "On ... wrote:", a signature, a forwarded header block.
_CUT = (re.compile(r"^>"),
        re.compile(r"^On .{1,300}wrote:\s*$", re.I),
        re.compile(r"^Le .{1,300}a écrit\s*:\s*$", re.I),
        re.compile(r"^Am .{1,300}schrieb .{0,200}:\s*$", re.I),
        re.compile(r"^--$"),                      # "-- " once stripped: the signature separator
        re.compile(r"^_{10,}\s*$"),
        re.compile(r"^-{2,}\s*Original Message\s*-{2,}", re.I),
        re.compile(r"^From: .+", re.I),
        re.compile(r"^Sent from my ", re.I),
        re.compile(r"^Get Outlook for ", re.I))


def strip_quoted(text: str) -> str:
    """The lines before the first cut (``_CUT``), trimmed; a reply keeps its own paragraphs."""
    kept = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if any(rule.match(line.strip()) for rule in _CUT):
            break
        kept.append(line.rstrip())
    return "\n".join(kept).strip()
