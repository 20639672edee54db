"""Reply by email: notification mails carry a signed Reply-To; ``flask mail receive`` posts
what comes back as that member in that thread, or refuses with a code the MTA bounces."""
from __future__ import annotations

import time

from datetime import timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from community.models import Post, utcnow
from community.services.mail import inbound, outbox


def _reply(to: str, sender: str, text: str, html: str | None = None) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, "Re: your thread"
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message.as_bytes()


def _receive(app, raw: bytes, *args):
    return app.test_cli_runner().invoke(args=["mail", "receive", *args], input=raw)


@pytest.fixture()
def scene(db, make, app):
    app.config["MAIL_FROM"] = "Support Community <community@example.com>"
    asker, helper = make.user("asker"), make.user("helper")
    thread = make.thread(author=asker, title="Sync stops after the update")
    make.reply(thread, author=helper, body="Restart the sync agent first.")
    return asker, helper, thread


def test_a_reply_to_the_notification_mail_lands_in_the_thread_as_its_member(app, db, smtp, scene):
    asker, helper, thread = scene
    outbox.send_due(outbox.worker_name())
    mail = [m for m in smtp.inbox.messages if m["To"] == "asker@example.com"][0]
    address = mail["Reply-To"]
    assert address.startswith("reply+") and address.endswith("@example.com") and len(address.split("@")[0]) <= 64
    assert "Reply to this email to answer" in mail.get_body(("plain",)).get_content()
    raw = _reply(address, "Asker <ASKER@example.com>",
                 "That fixed it, thank you!\n\nOn Mon, 1 Dec 2026, Support Community wrote:\n> helper answered\n> more\n")
    result = _receive(app, raw)
    assert result.exit_code == 0, result.stderr
    post = db.session.execute(select(Post).where(Post.thread_id == thread.id).order_by(Post.id.desc())).scalars().first()
    assert post.author_id == asker.id and post.body == "That fixed it, thank you!"


def test_html_only_replies_lose_the_quoted_part_and_signatures_are_cut(app, db, scene):
    asker, helper, thread = scene
    address = inbound.reply_address(helper.id, thread.id)
    html = ('<div dir="ltr"><p>Glad it worked.</p><p>Ping me <b>anytime</b>.</p></div>'
            '<div class="gmail_quote">On Mon someone wrote:<blockquote>old text</blockquote></div>')
    raw = _reply(address, "helper@example.com", "ignored plain", html)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "helper@example.com", address, "Re"
    message.set_content(html, subtype="html")
    assert _receive(app, message.as_bytes()).exit_code == 0
    post = db.session.execute(select(Post).order_by(Post.id.desc())).scalars().first()
    assert post.body == "Glad it worked.\n\nPing me anytime."
    assert inbound.strip_quoted("Yes.\n-- \nHelper, Acme\n") == "Yes."
    assert inbound.strip_quoted("Yes.\n\nSent from my iPhone") == "Yes."
    assert raw  # the multipart variant parses too
    assert _receive(app, _reply(address, "helper@example.com", "Plain wins.\n> quoted", html)).exit_code == 0
    assert db.session.execute(select(Post).order_by(Post.id.desc())).scalars().first().body == "Plain wins."


def test_a_forged_or_expired_token_is_refused_with_a_bounce_code(app, db, scene):
    asker, helper, thread = scene
    good = inbound.token(asker.id, thread.id)
    forged = good[:-1] + ("0" if good[-1] != "0" else "1")
    other_thread = inbound.token(asker.id, thread.id + 1).rsplit("x", 1)[0] + "x" + good.rsplit("x", 1)[1]
    before = db.session.query(Post).count()
    for token in (forged, other_thread, "garbage"):
        result = _receive(app, _reply(f"reply+{token}@example.com", "asker@example.com", "Hello there"))
        assert result.exit_code == 67 and ("not valid" in result.stderr or "not one of ours" in result.stderr)
    # Made 31 days ago (given, not frozen: under pytest-xdist, freezegun hands real time to calls
    # whose stack holds a thread, and execnet runs the tests in one).
    old = inbound.token(asker.id, thread.id, now=time.time() - 31 * 86400)
    result = _receive(app, _reply(f"reply+{old}@example.com", "asker@example.com", "Hello there"))
    assert result.exit_code == 67 and "expired" in result.stderr
    assert db.session.query(Post).count() == before


def test_a_locked_thread_a_suspended_member_or_another_sender_is_refused(app, db, scene):
    asker, helper, thread = scene
    address = inbound.reply_address(asker.id, thread.id)
    result = _receive(app, _reply(address, "mallory@example.net", "Posting as the asker"))
    assert result.exit_code == 77 and "from the address" in result.stderr
    thread.locked = True
    db.session.commit()
    result = _receive(app, _reply(address, "asker@example.com", "A late thank you"))
    assert result.exit_code == 77 and "locked" in result.stderr
    thread.locked = False
    asker.suspended_until = utcnow() + timedelta(days=3)
    db.session.commit()
    result = _receive(app, _reply(address, "asker@example.com", "A late thank you"))
    assert result.exit_code == 77 and "suspended" in result.stderr
    assert _receive(app, _reply(address, "asker@example.com", "> only a quote")).exit_code == 65


def test_the_envelope_recipient_option_wins_over_the_headers(app, db, scene):
    asker, helper, thread = scene
    address = inbound.reply_address(asker.id, thread.id)
    raw = _reply("list@example.com", "asker@example.com", "Through the envelope.")
    assert _receive(app, raw).exit_code == 67
    assert _receive(app, raw, "--recipient", address).exit_code == 0
