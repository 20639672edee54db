"""One-click accept from the reminder mail: each answer in it has a signed link that the asker
opens without signing in.  GET only asks (scanners open links), the button POSTs with the page's
CSRF token; the link expires and works once (one use spends every link of that mail).  Read
from the mail a real SMTP server received, used through HTTP."""
from __future__ import annotations

import json
import re
import time
from datetime import timedelta

import pytest
from freezegun import freeze_time
from itsdangerous import TimestampSigner
from sqlalchemy import func, select

from community.models import ReputationEvent, SpentLink, Thread, utcnow
from community.services.accounts import preferences
from community.services.forum import votes
from community.services.mail import accept_links, outbox, reminders
from community.services.mail import notify as mail_notify
from tests.platform import live_server

ACCEPT_RE = re.compile(r"Accept it: (\S+)")


def _reminded(app, db, make):
    """An answered question three days old whose asker gets reminders at once: the links of the
    reminder mail, best-voted answer first, and the scene."""
    start = utcnow() - timedelta(days=3, minutes=5)
    with freeze_time(start):
        asker, helper, expert = make.user("asker"), make.user("helper"), make.user("expert")
        thread = make.thread(author=asker, title="Sync stops after the update")
        weak = make.reply(thread, author=helper, body="Maybe restart your computer and try again.")
        strong = make.reply(thread, author=expert, body="Delete the sync cache folder, then sign in again.")
        votes.set_vote(helper, strong, 1)
        preferences.set_choice(asker.id, "reminder", "immediately")
        db.session.commit()
    assert reminders.run()["accept"] == 1
    return asker, thread, weak, strong


def _links_from_mail(smtp, to="asker@example.com") -> list[str]:
    outbox.send_due(outbox.worker_name())
    [mail] = [m for m in smtp.inbox.messages if m["To"] == to and "Accept the one" in m["Subject"]]
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    links = ACCEPT_RE.findall(text)
    assert all(link.replace("&", "&amp;") in html for link in links)
    return [link.split("://", 1)[1].split("/", 1)[1] for link in links]


def _csrf(page: str) -> str:
    return page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def test_the_asker_accepts_from_the_mail_without_signing_in_and_the_link_then_is_spent(app, db, make, smtp):
    asker, thread, weak, strong = _reminded(app, db, make)
    strong_link, weak_link = ["/" + path for path in _links_from_mail(smtp)]
    app.config["WTF_CSRF_ENABLED"] = True
    visitor = app.test_client()

    page = visitor.get(strong_link)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Accept this answer" in body and "Delete the sync cache folder" in body and "expert" in body
    db.session.expire_all()
    assert db.session.get(Thread, thread.id).accepted_post_id is None          # opening changes nothing

    assert visitor.post(strong_link).status_code == 400                      # no CSRF token: refused
    done = visitor.post(strong_link, data={"csrf_token": _csrf(body)})
    assert done.status_code == 200 and "is now solved" in done.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Thread, thread.id).accepted_post_id == strong.id
    points = dict(db.session.execute(select(ReputationEvent.reason, func.sum(ReputationEvent.points))
                                     .where(ReputationEvent.post_id == strong.id,
                                            ReputationEvent.reason.in_(("answer_accepted", "accepted_answer")))
                                     .group_by(ReputationEvent.reason)).all())
    assert points == {"answer_accepted": 15, "accepted_answer": 2}

    again = visitor.post(strong_link, data={"csrf_token": _csrf(body)})
    assert again.status_code == 409 and "used already" in again.get_data(as_text=True)
    other = visitor.get(weak_link)                       # the same mail's other link is spent too
    assert other.status_code == 409 and "used already" in other.get_data(as_text=True)
    assert visitor.post(weak_link, data={"csrf_token": _csrf(body)}).status_code == 409
    db.session.expire_all()
    assert db.session.get(Thread, thread.id).accepted_post_id == strong.id


def test_a_forged_an_expired_or_an_other_threads_link_is_refused(app, db, make, monkeypatch):
    asker, thread, weak, strong = _reminded(app, db, make)
    client = app.test_client()
    good = accept_links.token(asker.id, thread.id, strong.id, "n1")
    assert client.get(f"/accept/{good[:-2]}xx").status_code == 400
    assert client.post(f"/accept/{good[:-2]}xx").status_code == 400
    real_time = time.time
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(real_time()) - 15 * 86400)
    old = accept_links.token(asker.id, thread.id, strong.id, "n2")
    monkeypatch.undo()
    answer = client.post(f"/accept/{old}")
    assert answer.status_code == 400 and "expired" in answer.get_data(as_text=True)
    elsewhere = make.thread(author=asker, title="Another question of mine")
    crossed = accept_links.token(asker.id, elsewhere.id, strong.id, "n3")      # an answer of another thread
    assert client.post(f"/accept/{crossed}").status_code == 404
    someone = accept_links.token(weak.author_id, thread.id, strong.id, "n4")   # not the asker's link
    assert client.post(f"/accept/{someone}").status_code == 403
    db.session.expire_all()
    assert db.session.get(Thread, thread.id).accepted_post_id is None
    assert db.session.execute(select(func.count()).select_from(SpentLink)).scalar_one() == 0


def test_a_suspended_asker_or_a_hidden_answer_cannot_be_accepted_by_link(app, db, make):
    asker, thread, weak, strong = _reminded(app, db, make)
    client = app.test_client()
    link = f"/accept/{accept_links.token(asker.id, thread.id, strong.id, 'n5')}"
    strong.hidden = True
    db.session.commit()
    assert client.post(link).status_code == 404
    strong.hidden = False
    asker.suspended_until = utcnow() + timedelta(days=2)
    db.session.commit()
    assert client.get(link).status_code == 403 and client.post(link).status_code == 403
    asker.suspended_until = None
    db.session.commit()
    assert client.post(link).status_code == 200                 # refusals did not spend it


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_one_link_posted_ten_times_at_once_accepts_once(kind, tmp_path):
    from community import create_app
    from community.extensions import db
    from community.services.accounts import users
    from community.services.forum import threads

    with live_server.database(kind, tmp_path, "accounts_accept") as url:
        config = live_server.server_config(url, tmp_path)
        app = create_app(config)
        with app.app_context():
            db.create_all()
            asker = users.create_user("asker", "asker@example.com", "password123")
            expert = users.create_user("expert", "expert@example.com", "password123")
            db.session.flush()
            thread = threads.create_thread(asker, threads.create_category("Sync"), "Sync stops after the update",
                                           "It stops every time the update runs.")
            post = threads.add_reply(expert, thread, "Delete the sync cache folder, then sign in again.")
            db.session.commit()
            path, thread_id, post_id = f"/accept/{accept_links.token(asker.id, thread.id, post.id, 'burst')}", \
                thread.id, post.id
            db.engine.dispose()
        with live_server.gunicorn(config, tmp_path, workers=4, threads=2) as base:
            visitor = live_server.Client(base)
            statuses = live_server.burst([lambda: visitor.form(path, {})] * 10)
        assert sorted(statuses) == [200] + [409] * 9, statuses
        with app.app_context():
            assert db.session.get(Thread, thread_id).accepted_post_id == post_id
            awarded = db.session.execute(select(ReputationEvent.reason).where(ReputationEvent.post_id == post_id)
                                         .order_by(ReputationEvent.reason)).scalars().all()
            assert awarded == ["accepted_answer", "answer_accepted"]
            db.engine.dispose()


def test_a_sent_reminder_keeps_no_accept_link_in_the_outbox(app, db, make, smtp):
    """The links accept without signing in, like a reset link: once the mail is sent, its row keeps
    the subject and the thread's link but neither body nor the answers' links."""
    from community.models import OutboxMessage

    asker, thread, _weak, _strong = _reminded(app, db, make)
    links = _links_from_mail(smtp)
    db.session.expire_all()
    [row] = [m for m in db.session.execute(select(OutboxMessage).where(OutboxMessage.user_id == asker.id)).scalars()
             if "Accept the one" in m.payload["subject"]]
    assert row.sent_at is not None and row.payload["text"] == "[removed after sending]"
    assert f"/threads/{thread.id}/" in row.payload["items"][0]["link"]
    stored = json.dumps(row.payload)
    assert all(link.rsplit("/", 1)[1] not in stored for link in links) and "answers" not in row.payload["items"][0]


def test_a_reminder_batched_into_a_waiting_mail_keeps_its_accept_links(app, db, make):
    """A reply came minutes before the reminder, so a mail for the thread waits for its hour: the
    reminder joins it, answers and accept links included."""
    from community.models import OutboxMessage

    start = utcnow() - timedelta(days=3, minutes=30)
    with freeze_time(start):
        asker, expert, helper = make.user("asker"), make.user("expert"), make.user("helper")
        thread = make.thread(author=asker, title="Sync stops after the update")
        preferences.set_choice(asker.id, "reminder", "immediately")
        db.session.commit()
    with freeze_time(utcnow() - timedelta(minutes=20)):
        answer = make.reply(thread, author=expert, body="Delete the sync cache folder, then sign in again.")
    with freeze_time(utcnow() - timedelta(minutes=10)):
        make.reply(thread, author=helper, body="Also check the proxy settings.")     # waits for its hour
    assert reminders.run()["accept"] == 1
    db.session.expire_all()
    mails = db.session.execute(select(OutboxMessage).where(OutboxMessage.user_id == asker.id)
                               .order_by(OutboxMessage.id)).scalars().all()
    assert len(mails) == 2                                   # the first reply's, and the batch
    assert mails[1].payload["secret"] and mails[1].payload["render_when_sent"]   # rendered when it is sent:
    batch = mail_notify.rendered(mails[1].payload)                                # what the worker sends
    assert batch["subject"].startswith("2 new posts: ") and batch["secret"] and not mails[0].payload["secret"]
    link, _other = ACCEPT_RE.findall(batch["text"])         # both answers, the older first (equal votes)
    assert batch["html"].count("accept it</a>") == 2
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    assert app.test_client().post(path).status_code == 200
    db.session.expire_all()
    assert db.session.get(Thread, thread.id).accepted_post_id == answer.id
