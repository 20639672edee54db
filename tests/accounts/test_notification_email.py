"""Notifications by email: preferences per kind, watching and muting, one-click unsubscribe
(RFC 8058) through a real SMTP server."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from community.models import EMAIL_KINDS, Notification, OutboxMessage
from community.services.accounts import preferences, subscriptions
from community.services.forum import accepting
from community.services.mail import outbox


def _emails(db, to):
    rows = db.session.execute(select(OutboxMessage).where(OutboxMessage.channel == "email")
                              .order_by(OutboxMessage.id)).scalars().all()
    return [r.payload for r in rows if r.payload["to"] == to]


def _kinds(db, user):
    return [n.kind for n in db.session.execute(select(Notification).where(Notification.user_id == user.id)
                                               .order_by(Notification.id)).scalars()]


def test_defaults_email_replies_and_accepts_at_once_and_the_rest_not(db, make):
    asker, helper, carol = make.user("asker"), make.user("helper"), make.user("carol")
    thread = make.thread(author=asker, title="Export to CSV fails silently")
    post = make.reply(thread, author=helper, body="Try the Export button. @carol may know more.")
    make.reply(thread, author=asker, body="Thanks, that worked for me.")
    accepting.accept(asker, thread, post)
    db.session.commit()
    assert [e["subject"] for e in _emails(db, "asker@example.com")] == ["helper answered “Export to CSV fails silently”"]
    assert [e["subject"] for e in _emails(db, "helper@example.com")] == [
        "Your answer to “Export to CSV fails silently” was accepted"]       # "watching" is for the digest
    assert _kinds(db, helper) == ["watching", "accepted"]
    assert _emails(db, "carol@example.com") == [] and _kinds(db, carol) == ["mention"]
    mail = _emails(db, "asker@example.com")[0]
    assert f"/threads/{thread.id}/{thread.slug}#post-{post.id}" in mail["text"]   # the exact post
    assert mail["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


@pytest.mark.parametrize("kind, event", [("reply", "reply"), ("accepted", "accept"), ("mention", "mention"),
                                         ("watching", "watching")])
@pytest.mark.parametrize("choice", ["immediately", "digest", "never"])
def test_every_kind_follows_its_preference(db, make, kind, event, choice):
    asker, helper, carol = make.user("asker"), make.user("helper"), make.user("carol")
    target = {"reply": asker, "accept": helper, "mention": carol, "watching": helper}[event]
    preferences.set_choice(target.id, kind, choice)
    db.session.commit()
    thread = make.thread(author=asker)
    post = make.reply(thread, author=helper)
    if event == "accept":
        accepting.accept(asker, thread, post)
        db.session.commit()
    elif event == "mention":
        make.reply(thread, author=asker, body="Does @carol agree with this?")
    elif event == "watching":
        make.reply(thread, author=asker, body="Thanks, that worked for me.")
    emailed = [e for e in _emails(db, target.email) if e["template"] == "notification"]
    assert len(emailed) == (1 if choice == "immediately" else 0)
    assert kind in _kinds(db, target)        # in-app whatever the email choice


def test_muting_a_thread_silences_it_and_watching_hears_every_post(client, db, make, login):
    asker, helper, reader = make.user("asker"), make.user("helper"), make.user("reader")
    thread = make.thread(author=asker)
    login(reader)
    assert client.post(f"/threads/{thread.id}/watch", data={"level": "watching"}).status_code == 302
    make.reply(thread, author=helper)
    assert _kinds(db, reader) == ["watching"]
    login(asker)
    client.post(f"/threads/{thread.id}/watch", data={"level": "muted"})
    assert "This thread is muted." in client.get(f"/threads/{thread.id}/{thread.slug}").get_data(as_text=True)
    make.reply(thread, author=helper, body="Another idea: @asker try the beta.")
    assert _kinds(db, asker) == ["reply"]                                   # nothing after muting
    assert len(_emails(db, "asker@example.com")) == 1
    client.post(f"/threads/{thread.id}/watch", data={"level": ""})
    make.reply(thread, author=helper, body="A third answer for you.")
    assert _kinds(db, asker) == ["reply", "reply"]
    assert client.post(f"/threads/{thread.id}/watch", data={"level": "loud"}).status_code == 302
    assert subscriptions.thread_level(asker.id, thread.id) is None           # refused, flashed, unchanged


def test_settings_page_saves_choices(client, db, make, login):
    carol = make.user("carol")
    login(carol)
    page = client.get("/settings/notifications").get_data(as_text=True)
    assert 'name="reply" value="immediately" checked' in page and 'name="mention" value="digest" checked' in page
    assert client.post("/settings/notifications", data={"reply": "never", "watching": "immediately"}).status_code == 302
    assert preferences.choices(carol.id) == {**EMAIL_KINDS, "reply": "never", "watching": "immediately"}
    assert client.post("/settings/notifications", data={"reply": "sometimes"}).status_code == 400
    assert preferences.choices(carol.id)["reply"] == "never"


def test_one_click_unsubscribe_from_a_real_mail_needs_no_login(app, db, make, smtp):
    asker, helper = make.user("asker"), make.user("helper")
    thread = make.thread(author=asker)
    make.reply(thread, author=helper)
    outbox.send_due()
    [mail] = smtp.inbox.messages
    raw = smtp.inbox.raw[0].decode()
    header = re.search(r"^List-Unsubscribe: <(http://[^>]+)>\r$", raw, re.M).group(1)
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw
    assert header in mail.get_body(("plain",)).get_content() and header in mail.get_body(("html",)).get_content()
    path = header[header.index("/unsubscribe/"):]
    stranger = app.test_client()
    app.config["WTF_CSRF_ENABLED"] = True                                  # as in production: the POST is exempt
    assert stranger.get(path).status_code == 200
    assert preferences.email_choice(asker.id, "reply") == "immediately"   # GET changes nothing
    done = stranger.post(path, data={"List-Unsubscribe": "One-Click"})     # what a mail client sends
    assert done.status_code == 200 and "no more emails" in done.get_data(as_text=True)
    assert preferences.choices(asker.id) == {**EMAIL_KINDS, "reply": "never"}   # exactly that kind
    assert stranger.post(path).status_code == 200                          # twice: still off
    make.reply(thread, author=helper, body="One more answer for you.")
    assert len(_emails(db, "asker@example.com")) == 1
    assert stranger.post(path[:-4] + "abcd").status_code == 400            # forged


def test_the_daily_digest_lists_what_is_new_once_and_nothing_when_nothing_is(app, db, make, smtp):
    from datetime import timedelta

    from freezegun import freeze_time

    from community.models import utcnow
    from community.services.mail import digest

    asker, helper, carol = make.user("asker"), make.user("helper"), make.user("carol")
    thread = make.thread(author=asker, title="Export to CSV fails silently")
    make.reply(thread, author=helper, body="Try the Export button; @carol knows more.")
    make.reply(thread, author=asker, body="Thanks, that worked for me.")   # helper: "watching"
    outbox.send_due()
    smtp.inbox.raw.clear()
    later = utcnow() + timedelta(hours=1)
    with freeze_time(later):
        assert digest.build() == {"digests": 2, "items": 2}          # carol (mention), helper (watching)
        assert app.test_cli_runner().invoke(args=["mail", "digest"]).output.startswith("queued 0 digests")
        outbox.send_due()
    by_to = {m["To"]: m for m in smtp.inbox.messages}
    assert set(by_to) == {"carol@example.com", "helper@example.com"}   # not the asker: replies came at once
    text = by_to["carol@example.com"].get_body(("plain",)).get_content()
    assert "helper mentioned you in “Export to CSV fails silently”" in text and f"/threads/{thread.id}/" in text
    assert by_to["helper@example.com"]["Subject"] == "Your Support Community digest: 1 new"
    # Its unsubscribe link turns off the kinds that were in the digest, nothing else.
    raw = [r.decode() for r in smtp.inbox.raw if b"To: carol@example.com" in r][0]
    url = re.search(r"^List-Unsubscribe: <(http://[^>]+)>\r$", raw, re.M).group(1)
    assert app.test_client().post(url[url.index("/unsubscribe/"):]).status_code == 200
    assert preferences.choices(carol.id) == {kind: "never" if default == "digest" else default
                                             for kind, default in EMAIL_KINDS.items()}
