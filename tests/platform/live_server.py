"""A real multi-process server for tests: gunicorn over SQLite or a throwaway PostgreSQL database.

Used by tests that must see what several worker processes do at once
(concurrent writes, limits shared across workers).  The server binds a free
port on 127.0.0.1 and is stopped by the context manager.
"""
from __future__ import annotations

import http.cookiejar
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

GUNICORN = Path(sys.executable).with_name("gunicorn")
ROOT = Path(__file__).resolve().parents[2]
PG_BASE = os.environ.get("INTEGRITY_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def create_postgres_database(prefix: str) -> str | None:
    """A fresh database with a unique name, or None when PostgreSQL does not answer.
    ``TEST_PG_NAME_PREFIX`` goes before the name (a session sharing the server keeps to its own)."""
    prefix = os.environ.get("TEST_PG_NAME_PREFIX", "") + prefix
    try:
        import psycopg
    except ImportError:
        return None
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(PG_BASE, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except Exception:  # noqa: BLE001 - no server, no rights: the caller skips
        return None
    return "postgresql+psycopg://" + PG_BASE.split("://", 1)[1].rsplit("/", 1)[0] + f"/{name}"


def drop_postgres_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def database(kind: str, tmp_path: Path, prefix: str):
    """A SQLite file (``kind="sqlite"``) or a throwaway PostgreSQL database, dropped afterwards;
    the test is skipped when PostgreSQL does not answer.  The search-queue threads that the
    test's apps started end before the database goes (they would poll a dropped database)."""
    from community.search import queue
    from community.services import fanout

    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / (prefix + '.db')}"
        queue.stop_all()
        fanout.stop_all()
        return
    url = create_postgres_database(prefix)
    if url is None:
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    try:
        yield url
    finally:
        queue.stop_all()
        fanout.stop_all()
        drop_postgres_database(url)


def database_fixture(prefix: str):
    """A ``database_url`` fixture for a test module (``database_url = live_server.database_fixture("x")``):
    each test runs once on SQLite and once on PostgreSQL, a database named ``prefix``."""
    @pytest.fixture(params=["sqlite", "postgresql"])
    def database_url(request, tmp_path):
        with database(request.param, tmp_path, prefix) as url:
            yield url

    return database_url


PASSWORD = "password123"


@contextmanager
def seeding(config: dict):
    """An app context on a new schema for a live server's ``config``, to seed its site before the
    server starts. Yields ``make(name, role="member")``, a user factory whose password is
    :data:`PASSWORD` (:meth:`Client.login`'s); the engine's connections are closed at the end."""
    from community import create_app
    from community.extensions import db
    from community.services.accounts import users

    app = create_app(config)
    with app.app_context():
        db.create_all()
        yield lambda name, role="member": users.create_user(name, f"{name}@example.com", PASSWORD, role)
        db.engine.dispose()


def burst(calls) -> list:
    """Run every call at the same moment (a barrier releases them together); the first item of
    each call's answer (its status)."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()[0]

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def server_config(database_url: str, tmp_path: Path, **extra) -> dict:
    config = {"SQLALCHEMY_DATABASE_URI": database_url, "INSTANCE_PATH": str(tmp_path / "instance"),
              "SEARCH_INDEX_DIR": str(tmp_path / "index"), "SECRET_KEY": "live-server-test",
              "RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": False,
              "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"}
    config.update(extra)
    return config


@contextmanager
def app_on(database_url: str, tmp_path: Path, *, create: bool = False):
    """An app context on a live server's database, outside the server: to seed it before the
    server starts (``create=True`` makes the schema first) or to read what the server wrote.
    Yields ``db``; its connections are closed at the end, so that the database can be dropped."""
    from community import create_app
    from community.extensions import db

    app = create_app(server_config(database_url, tmp_path))
    with app.app_context():
        if create:
            db.create_all()
        try:
            yield db
        finally:
            db.session.remove()
            db.engine.dispose()


@contextmanager
def gunicorn(config: dict, tmp_path: Path, *, workers: int = 4, threads: int = 2):
    """Serve ``create_app(config)`` with gunicorn; yields the base URL."""
    module = tmp_path / "live_server_app.py"
    module.write_text("from community import create_app\n" f"app = create_app({config!r})\n")
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "w") as log:
        # Port 0: the system picks a free port as gunicorn binds it, read back from its log. A port
        # picked beforehand (``free_port``) could be taken meanwhile by a test running beside this
        # one, and this test would then talk to the other test's server.
        proc = subprocess.Popen(
            [str(GUNICORN), "--workers", str(workers), "--threads", str(threads),
             "--bind", "127.0.0.1:0", "--pythonpath", f"{tmp_path},{ROOT}",
             "--timeout", "120", "live_server_app:app"],
            stdout=log, stderr=subprocess.STDOUT)
        try:
            base = _wait_until_up(proc, log_path)
            yield base
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _wait_until_up(proc, log_path: Path) -> str:
    """The base URL of the server ``proc`` once it answers (the port it bound, from its log)."""
    deadline = time.time() + 60
    base = None
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("gunicorn exited: " + log_path.read_text()[-3000:])
        if base is None:
            bound = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", log_path.read_text())
            base = bound.group(1) if bound else None
        try:
            if base is not None:
                urllib.request.urlopen(base + "/api/v1/categories", timeout=2)
                return base
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.3)
    raise RuntimeError("gunicorn did not start: " + log_path.read_text()[-3000:])


class Client:
    """One visitor: a bearer token for the API, or a cookie session for pages."""

    def __init__(self, base: str, token: str | None = None, headers: dict | None = None):
        self.base = base
        self.token = token
        #: Sent with every request (a browser's User-Agent, Accept ...).
        self.headers = dict(headers or {})
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect)

    def login(self, username: str, password: str = PASSWORD) -> Client:
        status, _ = self.form("/login", {"login": username, "password": password})
        assert status == 302, f"login of {username} answered {status}"
        return self

    def api(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = json.dumps(body).encode() if body is not None else None
        status, raw = self._send(urllib.request.Request(self.base + "/api/v1" + path, data=data,
                                                        method=method, headers=headers))
        try:
            return status, json.loads(raw or b"{}")
        except ValueError:
            return status, {"raw": raw[:300].decode(errors="replace")}

    def form(self, path: str, fields: dict) -> tuple[int, bytes]:
        data = urllib.parse.urlencode(fields).encode()
        return self._send(urllib.request.Request(self.base + path, data=data, method="POST"))

    def upload(self, path: str, field: str, filename: str, data: bytes, content_type: str) -> tuple[int, bytes]:
        """POST one file as ``multipart/form-data`` (what a browser's file input sends)."""
        boundary = uuid.uuid4().hex
        body = (f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
                f"Content-Type: {content_type}\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
        return self._send(urllib.request.Request(
            self.base + path, data=body, method="POST",
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}))

    def get(self, path: str) -> tuple[int, bytes]:
        return self._send(urllib.request.Request(self.base + path))

    def _send(self, request) -> tuple[int, bytes]:
        for name, value in self.headers.items():
            request.add_header(name, value)
        try:
            with self.opener.open(request, timeout=120) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
