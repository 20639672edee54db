"""The mail adapter: the only module that talks SMTP (or writes mail to disk).

``build(payload)`` turns an outbox payload into a MIME message (plain text and
HTML parts); ``send(message)`` hands it to the configured backend:

- ``smtp``: ``smtplib`` to ``MAIL_SERVER``:``MAIL_PORT``, STARTTLS with
  ``MAIL_USE_TLS``, implicit TLS with ``MAIL_USE_SSL``, login with
  ``MAIL_USERNAME``/``MAIL_PASSWORD``.  The default when ``MAIL_SERVER`` is set.
- ``file``: one ``.eml`` file per message under ``MAIL_FILE_DIR``
  (``instance/mail/``).  The default when no mail server is configured.
- ``log``: the message is written to the app's log (development).

Headers such as ``List-Unsubscribe`` are ASCII and written as they are: the
policy never folds or RFC 2047-encodes them (mail clients ignore an encoded one).
"""
from __future__ import annotations

import smtplib
import ssl
import time
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr, formatdate
from pathlib import Path

from flask import current_app

#: Long ASCII header values (unsubscribe URLs) stay on one line, never encoded.
POLICY = SMTP.clone(max_line_length=998)


class MailError(Exception):
    """The backend could not take the message (the worker retries later)."""


def backend() -> str:
    cfg = current_app.config
    return cfg.get("MAIL_BACKEND") or ("smtp" if cfg.get("MAIL_SERVER") else "file")


def sender() -> str:
    cfg = current_app.config
    return cfg.get("MAIL_FROM") or formataddr((cfg["SITE_NAME"], "community@localhost"))


def build(payload: dict) -> EmailMessage:
    """A multipart/alternative message from an outbox payload."""
    message = EmailMessage(policy=POLICY)
    message["From"] = sender()
    message["To"] = payload["to"]
    message["Subject"] = payload["subject"]
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = payload["message_id"]
    message["Auto-Submitted"] = "auto-generated"
    for name, value in (payload.get("headers") or {}).items():
        message[name] = value
    message.set_content(payload["text"])
    message.add_alternative(payload["html"], subtype="html")
    return message


def send(message: EmailMessage) -> None:
    """Hand one message to the configured backend; ``MailError`` when it refuses or is away."""
    kind = backend()
    if kind == "smtp":
        _send_smtp(message)
    elif kind == "file":
        _write_file(message)
    elif kind == "log":
        current_app.logger.info("mail (log backend):\n%s", message.as_string())
    else:
        raise MailError(f"Unknown MAIL_BACKEND {kind!r} (smtp, file or log).")


def _send_smtp(message: EmailMessage) -> None:
    cfg = current_app.config
    host, port = cfg["MAIL_SERVER"], int(cfg.get("MAIL_PORT") or (465 if cfg.get("MAIL_USE_SSL") else 25))
    timeout = float(cfg.get("MAIL_TIMEOUT_SECONDS", 10))
    try:
        if cfg.get("MAIL_USE_SSL"):
            connection = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
        else:
            connection = smtplib.SMTP(host, port, timeout=timeout)
        with connection:
            if cfg.get("MAIL_USE_TLS") and not cfg.get("MAIL_USE_SSL"):
                connection.starttls(context=ssl.create_default_context())
            if cfg.get("MAIL_USERNAME"):
                connection.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD") or "")
            connection.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(f"{type(exc).__name__}: {exc}") from exc


def mail_dir() -> Path:
    return Path(current_app.config.get("MAIL_FILE_DIR") or Path(current_app.instance_path) / "mail")


def _write_file(message: EmailMessage) -> None:
    folder = mail_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        ident = message["Message-ID"].strip("<>").partition("@")[0].replace("/", "_")
        path = folder / f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{ident}.eml"
        path.write_bytes(message.as_bytes(policy=POLICY))
    except OSError as exc:
        raise MailError(f"{type(exc).__name__}: {exc}") from exc
