"""A real SMTP server on 127.0.0.1 (aiosmtpd) for the tests that send mail; the ``smtp``
fixture in tests/conftest.py starts one and points the app at it."""
from __future__ import annotations

import threading
from email import message_from_bytes, policy

import pytest

from tests.platform.live_server import free_port


class Inbox:
    """What the SMTP server received: raw bytes and parsed messages, in order."""

    def __init__(self):
        self.raw: list[bytes] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's API)
        with self.lock:
            self.raw.append(envelope.original_content or envelope.content)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"

    @property
    def messages(self):
        return [message_from_bytes(raw, policy=policy.default) for raw in self.raw]


class SmtpServer:
    def __init__(self):
        self.port = free_port()
        self.inbox = Inbox()
        self.controller = None

    def start(self):
        try:
            from aiosmtpd.controller import Controller
        except ImportError:  # pragma: no cover
            pytest.skip("aiosmtpd is not installed (pip install -e '.[test]')")
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        try:
            self.controller.start()
        except Exception as exc:  # pragma: no cover - a machine without loopback sockets
            pytest.skip(f"cannot start an SMTP server on 127.0.0.1:{self.port}: {exc}")

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
