"""The scripted flows on PostgreSQL, in a database of their own (skips, saying why, without a server).

``TEST_DATABASE_URL=postgresql+psycopg://...`` runs every deflection test there too; this
one runs on every suite run whenever a server answers.
"""
from __future__ import annotations

import uuid
from datetime import datetime

import pytest
from sqlalchemy import create_engine, text

from tests.deflection.conftest import minutes, rules_app, running_site

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture()
def pg_site(tmp_path):
    try:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # psycopg missing or server down
        pytest.skip(f"PostgreSQL not reachable at 127.0.0.1:5432 ({exc.__class__.__name__})")
    name = f"deflection_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        with running_site(rules_app(tmp_path, PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")) as site:
            yield site
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_metrics_and_guards_on_postgresql(pg_site):
    site = pg_site
    thread = site.thread("Where are my invoices kept?", "I cannot find the invoices for last year anywhere.")
    category = site.category()
    for i, post_after in enumerate((None, 29, 31)):
        site.at(minutes(i * 100))
        visitor = site.visitor()
        visitor.login(site.user())
        sid = visitor.open_page()
        assert [r["id"] for r in visitor.suggest(sid, "invoices")["results"]] == [thread.id]
        site.at(minutes(i * 100 + 1))
        visitor.open(sid, thread.id)
        if i == 0:
            site.at(minutes(3))
            assert visitor.confirm(sid, thread.id).get_json()["counted"] is True
            assert visitor.confirm(sid, thread.id).get_json()["counted"] is False
        if post_after is not None:
            site.at(minutes(i * 100 + 1 + post_after))
            assert visitor.post_question(sid, category).status_code == 302
    site.visitor(agent="curl/8.4").open_page(beacon=False)
    report = site.report(now=datetime(2026, 3, 3))
    assert (report["sessions"], report["sessions_with_suggestions"]) == (3, 3)
    assert (report["confirmed_deflections"], report["inferred_deflections"]) == (1, 1)
    assert report["deflection_rate_with_inferred"] == round(2 / 3, 4)
    assert report["excluded_traffic"]["refused_by_reason"] == {"bot": 1, "confirm_repeat": 1}
    assert report["health"]["questions"] == 3  # the thread and the two questions posted
