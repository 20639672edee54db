"""A confirmation ("This solved my problem") racing a support contact by the same visitor, through gunicorn.

Dana opened the suggested invoices thread from the ask page on her phone; at the same moment she
presses "This solved my problem" there and sends a support request from her laptop (signed in
both times: the same member, another cookie and its own ask session), or, anonymous, from the
same tab's session.  Whatever order the two commit in, the credit must say what the metrics
say (``outcomes.fails``): failed exactly when the contact came at or after the confirmation's
moment, with no bonus left; held, with its bonus, otherwise; never held with a contact after it.
No answer may be a 5xx.

On PostgreSQL a second test makes the order that once lost the failure happen: the confirmation
has taken its moment and waits for its session's row while the contact commits (it found no
credit to fail); the credit written afterwards must be written failed, without a bonus.
"""
from __future__ import annotations

import re
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.deflection.conftest import CHROME
from tests.deflection.test_deflection_concurrent import _prepare
from tests.platform import live_server

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not live_server.GUNICORN.exists(), reason="gunicorn is not installed")]

VISITORS = 5


database_url = live_server.database_fixture("deflection_race")


def _config(database_url: str, tmp_path) -> dict:
    # Sessions end at once (a page opened later starts a new one): the laptop's contact page is a
    # session of its own, as on another day's visit.
    return live_server.server_config(database_url, tmp_path, DEFLECTION_HOLDOUT=0, DEFLECTION_SESSION_MINUTES=0,
                                     DEFLECTION_CREDIT_EVERY_SECONDS=0)


def _members(database_url: str, tmp_path, names) -> None:
    from community.services.accounts import users

    with live_server.app_on(database_url, tmp_path) as db:
        for name in names:
            users.create_user(name, f"{name}@example.com", "password123")
        db.session.commit()


def _sid(page: bytes) -> str:
    return re.search(rb'data-ask-session="(\w+)"', page).group(1).decode()


def _opened_on_phone(base: str, site: dict, member: str | None) -> tuple[live_server.Client, str]:
    """A browser (signed in as ``member``, or anonymous) whose ask session opened the invoices thread."""
    phone = live_server.Client(base, headers={"User-Agent": CHROME})
    if member:
        phone.login(member)
    status, page = phone.get("/ask")
    assert status == 200
    sid = _sid(page)
    assert phone.form("/ask/beacon", {"session": sid})[0] == 200
    assert phone.get(f"/api/v1/suggest?q=download+invoices+pdf&session={sid}&type=thread")[0] == 200
    assert phone.get(f"/ask/open/{sid}/thread/{site['thread']}?via=ask")[0] == 302
    phone.headers["Accept"] = "application/json"
    return phone, sid


def _contact_from(base: str, member: str | None, phone: live_server.Client, sid: str):
    """The member's laptop (another cookie, a session of its own), or for an anonymous visitor the
    phone's own session; returns the call that sends the request."""
    if member:
        laptop = live_server.Client(base, headers={"User-Agent": CHROME}).login(member)
        status, page = laptop.get("/support/contact")
        on_laptop = _sid(page)
        assert status == 200 and on_laptop != sid
        client, session = laptop, on_laptop
    else:
        client, session = live_server.Client(base, headers={"User-Agent": CHROME}), sid
        client.opener = phone.opener      # the same browser: its cookies
    return lambda: client.form("/support/contact", {
        "ask_session": session, "subject": "Invoices still download empty", "js": "1",
        "body": "The PDF button gives an empty page as well.", "name": "Dana", "email": "dana@example.com"})


def _outcomes(config: dict, sids: list[str]) -> dict:
    """Per phone session: (the confirmation's moment, the visitor's first contact, the credit's
    failed_at, the net bonus), and the report's confirmed / held / failed counts."""
    from sqlalchemy import func, or_

    from community import create_app
    from community.extensions import db
    from community.models import AskEvent, AskSession, DeflectionCredit, ReputationEvent
    from community.services.deflection import metrics

    app = create_app(config)
    with app.app_context():
        rows = {}
        for sid in sids:
            session = db.session.get(AskSession, sid)
            same = AskSession.visitor_id == session.visitor_id
            if session.user_id:
                same = or_(same, AskSession.user_id == session.user_id)
            confirmed = db.session.execute(select(AskEvent.created_at).where(
                AskEvent.session_id == sid, AskEvent.kind == "confirmed")).scalar_one()
            contact = db.session.execute(select(func.min(AskEvent.created_at)).join(
                AskSession, AskSession.id == AskEvent.session_id)
                .where(same, AskEvent.kind == "support_request")).scalar_one()
            credit = db.session.execute(select(DeflectionCredit).where(DeflectionCredit.session_id == sid)).scalar_one()
            bonus = db.session.execute(select(func.coalesce(func.sum(ReputationEvent.points), 0)).where(
                ReputationEvent.reason == "deflection_helped", ReputationEvent.source == f"deflection:{sid}")).scalar_one()
            rows[sid] = (confirmed, contact, credit.kind, credit.created_at, credit.failed_at, bonus)
        day = min(r[0] for r in rows.values()).date()
        report = metrics.deflection_report(day, day + timedelta(days=1))
        db.engine.dispose()
    return {"rows": rows, "report": {k: report[k] for k in ("confirmed_deflections", "held_deflections",
                                                           "failed_deflections")}}


@pytest.mark.parametrize("who", ["member", "anonymous"])
def test_confirmations_and_contacts_sent_at_once_fail_exactly_the_credits_contacted_after(database_url, who, tmp_path):
    config = _config(database_url, tmp_path)
    site = _prepare(config)
    names = [f"dana{n}" for n in range(VISITORS)]
    if who == "member":
        _members(database_url, tmp_path, names)
    with live_server.gunicorn(config, tmp_path) as base:
        calls, sids = [], []
        for name in names:
            phone, sid = _opened_on_phone(base, site, name if who == "member" else None)
            sids.append(sid)
            calls += [lambda phone=phone, sid=sid: phone.form("/ask/confirm", {"session": sid, "thread_id": site["thread"]}),
                      _contact_from(base, name if who == "member" else None, phone, sid)]
        codes = live_server.burst(calls)
    assert codes == [200, 302] * VISITORS, codes
    found = _outcomes(config, sids)
    held = failed = 0
    for sid, (confirmed, contact, kind, credited_at, failed_at, bonus) in found["rows"].items():
        assert (kind, credited_at) == ("confirmed", confirmed)
        if contact >= confirmed:   # the metrics' rule: failed, and its bonus gone (never given or reversed)
            assert (failed_at, bonus) == (contact, 0), found
            failed += 1
        else:                      # the contact came first: the confirmation after it holds
            assert (failed_at, bonus) == (None, 2), found
            held += 1
    print(f"\n{database_url.split(':')[0]}, {who}: {held} held (the contact first), {failed} failed")
    # The report agrees: the laptop's contact fails the phone's deflection; a contact after the
    # confirmation in the same session means it was no deflection at all (docs/metrics.md).
    deflections = held + failed if who == "member" else held
    assert found["report"] == {"confirmed_deflections": deflections, "held_deflections": held,
                               "failed_deflections": deflections - held}, found


def test_a_contact_committed_while_the_confirmation_waits_fails_its_credit(tmp_path):
    """PostgreSQL: the phone's session row is held, so the confirmation takes its moment and waits for
    it; the laptop's contact (a session of its own) commits meanwhile and finds no credit to fail.
    Released, the confirmation writes its credit: failed at the contact's moment, with no bonus."""
    import psycopg

    with live_server.database("postgresql", tmp_path, "deflection_race_wait") as database_url:
        config = _config(database_url, tmp_path)
        site = _prepare(config)
        _members(database_url, tmp_path, ["dana"])
        url = database_url.replace("+psycopg", "")
        answers = {}
        with live_server.gunicorn(config, tmp_path) as base:
            phone, sid = _opened_on_phone(base, site, "dana")
            contact = _contact_from(base, "dana", phone, sid)
            with psycopg.connect(url) as holder:
                holder.execute("SELECT id FROM ask_sessions WHERE id = %s FOR UPDATE", (sid,))
                confirm = threading.Thread(target=lambda: answers.update(confirm=phone.form(
                    "/ask/confirm", {"session": sid, "thread_id": site["thread"]})[0]))
                confirm.start()
                deadline = time.time() + 30
                with psycopg.connect(url, autocommit=True) as watcher:
                    while not watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                                              " AND wait_event_type = 'Lock'").fetchone()[0]:
                        assert time.time() < deadline, "the confirmation never waited for its session"
                        time.sleep(0.05)
                answers["contact"] = contact()[0]     # committed while the confirmation waits
                holder.rollback()
                confirm.join(timeout=60)
        assert answers == {"contact": 302, "confirm": 200}, answers
        found = _outcomes(config, [sid])
        confirmed, contact_at, kind, credited_at, failed_at, bonus = found["rows"][sid]
        assert contact_at > confirmed and (kind, credited_at, failed_at, bonus) == ("confirmed", confirmed, contact_at, 0)
        assert found["report"] == {"confirmed_deflections": 1, "held_deflections": 0, "failed_deflections": 1}, found
