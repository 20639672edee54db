"""Scripted visitors driving the deflection flow through HTTP, with CSRF and rate limits on.

``site`` is an app of its own (CSRF, rate limits in memory, a frozen clock that the
test moves); ``site.visitor()`` is a browser: a cookie jar, a user agent, an address.
Every event a test scripts goes through the pages and the API, so every row it
makes references real rows (threads, users, tickets), as on PostgreSQL.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import freezegun
from freezegun import freeze_time

from community import create_app
from community.extensions import db as _db
from community.services.accounts import users
from community.services.deflection import metrics
from community.services.forum import threads

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"
T0 = datetime(2026, 3, 2, 9, 0)


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


class Visitor:
    """One browser: its own cookies, user agent and address."""

    def __init__(self, site, *, agent=CHROME, address="10.0.0.1"):
        self.site = site
        self.client = site.app.test_client()
        self.headers = {"User-Agent": agent}
        self.environ = {"REMOTE_ADDR": address}
        self.csrf = ""

    def get(self, url, **headers):
        response = self.client.get(url, headers={**self.headers, **headers}, environ_base=self.environ)
        token = re.search(rb'name="csrf-token" content="([^"]+)"', response.data or b"")
        if token:
            self.csrf = token.group(1).decode()
        return response

    def post(self, url, data=None, **headers):
        return self.client.post(url, data={"csrf_token": self.csrf, **(data or {})},
                                headers={**self.headers, **headers}, environ_base=self.environ)

    def open_page(self, url="/ask", *, beacon=True, **headers) -> str:
        """Open the Ask (or Contact) page; the page's script reports in unless ``beacon=False``.
        Returns the session id ('' when none was made)."""
        page = self.get(url, **headers)
        assert page.status_code == 200
        sid = re.search(rb'data-ask-session="(\w*)"', page.data).group(1).decode()
        if sid and beacon:
            assert self.post("/ask/beacon", {"session": sid}).status_code == 200
        return sid

    def suggest(self, sid, query, types="thread,idea"):
        response = self.get(f"/api/v1/suggest?q={query}&session={sid}&type={types}")
        return response.get_json()

    def open(self, sid, thread_id, kind="thread"):
        return self.get(f"/ask/open/{sid}/{kind}/{thread_id}?via=ask")

    def confirm(self, sid, thread_id):
        return self.post("/ask/confirm", {"session": sid, "thread_id": thread_id}, Accept="application/json")

    def login(self, user, password="password123"):
        self.get("/login")
        return self.post("/login", {"login": user.username, "password": password})

    def post_question(self, sid, category, title="My phone app will not sync my notes at all",
                      body="Since the last update the notes never sync between my devices."):
        return self.post("/ask", {"ask_session": sid, "title": title, "body": body, "tags": "",
                                  "category_id": category.id, "js": "1"})

    def contact(self, sid, subject="Billing question about my plan",
                body="Please explain the charge on my last invoice.", name="Dana", email="dana@example.com"):
        return self.post("/support/contact", {"ask_session": sid, "subject": subject, "body": body,
                                              "name": name, "email": email, "js": "1"})


class Site:
    def __init__(self, app, clock):
        self.app = app
        self.clock = clock
        self.n = 0

    def at(self, when: datetime) -> None:
        self.clock.move_to(when)

    def visitor(self, **kw) -> Visitor:
        self.n += 1
        kw.setdefault("address", f"10.0.{self.n // 250}.{self.n % 250 + 1}")
        return Visitor(self, **kw)

    def user(self, name=None, role="member"):
        self.n += 1
        user = users.create_user(name or f"member{self.n}", f"member{self.n}@example.com", "password123", role)
        _db.session.commit()
        return user

    def thread(self, title, body="The details are in the title; nothing else has helped so far.", author=None,
               category=None):
        category = category or self.category()
        thread = threads.create_thread(author or self.user(), category, title, body)
        _db.session.commit()
        return thread

    def category(self):
        self.n += 1
        category = threads.create_category(f"Category {self.n}", "About things")
        _db.session.commit()
        return category

    def api(self, path: str):
        """GET an API path as a support agent (one token per site), as a dashboard would."""
        if not getattr(self, "_token", None):
            self._token = users.issue_token(self.user(role="agent"))
            _db.session.commit()
        return self.app.test_client().get(path, headers={"Authorization": f"Bearer {self._token}"})

    def report(self, start=None, end=None, **kw):
        day = T0.date()
        return metrics.deflection_report(start or day, end or day, **kw)


#: Under the mutation tester (``MUTANT_UNDER_TEST`` set), the files whose tests fail fastest on a
#: wrong rule run first and the seeded simulations last: with ``-x`` a mutant is then killed in
#: seconds.  Only the order changes, never what runs or what it checks.
FAST_FIRST = ("test_deflection_outcomes.py", "test_deflection_breakdowns.py", "test_deflection_sessions.py",
              "test_deflection_health.py", "test_deflection_report.py", "test_deflection_metrics.py",
              "test_deflection_credit.py", "test_deflection_gaming.py", "test_deflection_articles.py",
              "test_deflection_views.py")


def pytest_collection_modifyitems(config, items):
    if not os.environ.get("MUTANT_UNDER_TEST"):
        return

    def rank(item):
        name = item.path.name
        slow = "seeded_runs" in item.name
        return (slow, FAST_FIRST.index(name) if name in FAST_FIRST else len(FAST_FIRST))

    items.sort(key=rank)


freezegun.configure(default_ignore_list=["_pytest", "pluggy", "gi", "selenium", "_pydev_bundle"])


_TEMPLATE: dict[str, Path] = {}


def _sqlite_with_schema(tmp_path) -> str:
    """A SQLite file that already holds the schema: a copy of one built once per process.

    Building ~40 tables (and dropping them) took most of each test's time; copying a
    file takes milliseconds, which matters most when the mutation tester runs these
    tests once per mutant.
    """
    if "path" not in _TEMPLATE:
        folder = Path(tempfile.mkdtemp(prefix="deflection-schema-"))
        app = create_app({"TESTING": True, "INSTANCE_PATH": str(folder), "SECRET_KEY": "schema",
                          "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'schema.db'}",
                          "SEARCH_INDEX_DIR": str(folder / "index")})
        with app.app_context():
            _db.create_all()
            _db.session.remove()
            _db.engine.dispose()
        _TEMPLATE["path"] = folder / "schema.db"
    target = Path(tmp_path) / "rules.db"
    shutil.copyfile(_TEMPLATE["path"], target)
    return f"sqlite:///{target}"


def rules_app(tmp_path, uri: str | None = None):
    """An app with CSRF and rate limits on, on ``uri`` (default: TEST_DATABASE_URL, else a SQLite
    file that starts with the schema)."""
    app = create_app({
        "TESTING": True, "INSTANCE_PATH": str(tmp_path),
        "SQLALCHEMY_DATABASE_URI": uri or os.environ.get("TEST_DATABASE_URL") or _sqlite_with_schema(tmp_path),
        "SEARCH_INDEX_DIR": str(tmp_path / "index"), "SECRET_KEY": "rules", "SERVER_NAME": "localhost",
        "WTF_CSRF_ENABLED": True, "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "memory://",
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "DEFLECTION_HOLDOUT": 0,
    })
    return app


@contextmanager
def running_site(app):
    """The app's schema, a frozen clock at ``T0``, and the ``Site`` helper; dropped afterwards
    (a SQLite file of the test's own folder is simply left behind with it)."""
    sqlite = app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:")
    with freeze_time(T0) as clock, app.app_context():
        if not sqlite:
            _db.create_all()
        try:
            yield Site(app, clock)
        finally:
            _db.session.remove()
            if not sqlite:
                _db.drop_all()
            _db.engine.dispose()


@pytest.fixture()
def site(tmp_path):
    with running_site(rules_app(tmp_path)) as scripted:
        yield scripted
