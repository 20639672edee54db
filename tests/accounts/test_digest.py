"""The daily digest's sections: new in what you follow, questions you could answer (unanswered,
new, in the categories and tags you watch or track), ideas you follow; a reminder in it lists
the answers with one-click accept links.  Sent through a real SMTP server."""
from __future__ import annotations

import json
from datetime import timedelta

from freezegun import freeze_time
from sqlalchemy import select

from community.models import OutboxMessage, utcnow
from community.services import notifications
from community.services.accounts import preferences, subscriptions
from community.services.forum import threads as forum_threads
from community.services.mail import digest, outbox, reminders


def _digest_text(smtp, to: str) -> str:
    outbox.send_due(outbox.worker_name())
    [mail] = [m for m in smtp.inbox.messages if m["To"] == to and "digest" in m["Subject"]]
    html = mail.get_body(("html",)).get_content()
    text = mail.get_body(("plain",)).get_content()
    for title in ("New in what you follow", "Questions you could answer", "Ideas you follow"):
        assert (title in text) == (title in html)
    return text


def test_the_digest_lists_new_posts_questions_nobody_answered_and_ideas_in_sections(app, db, make, smtp):
    billing, sync = make.category("Billing"), make.category("Sync")
    helper, asker, other = make.user("helper"), make.user("asker"), make.user("other")
    refunds = forum_threads.get_tags(["refunds"])[0]
    subscriptions.set_category_level(helper.id, billing.id, "watching")
    subscriptions.set_tag_level(helper.id, refunds.id, "tracking")
    db.session.commit()
    start = utcnow() - timedelta(hours=2)
    with freeze_time(start - timedelta(days=2)):
        make.thread(author=asker, category=billing, title="An old question nobody answered")
    with freeze_time(start):
        refund = make.thread(author=asker, category=billing, title="Refund never arrived after ten days")
        tagged = make.thread(author=asker, category=sync, tags="refunds", title="Refund for the sync plan upgrade")
        answered = make.thread(author=asker, category=billing, title="Invoice is missing the VAT number")
        make.reply(answered, author=other, body="Add it under Billing details, then download again.")
        muted = make.thread(author=asker, category=billing, title="A question the helper muted for good")
        subscriptions.set_thread_level(helper.id, muted.id, "muted")
        locked = make.thread(author=asker, category=billing, title="A locked question about card payments")
        locked.locked = True
        make.thread(author=helper, category=billing, title="The helper's own question on billing")
        make.thread(author=asker, category=sync, title="Sync question outside what the helper follows")
        notifications.notify(helper.id, "idea_status", "Idea “Dark mode” is now planned", "/ideas/1")
        db.session.commit()
    with freeze_time(start + timedelta(hours=1)):
        assert digest.build()["digests"] >= 1
    text = _digest_text(smtp, "helper@example.com")
    news = text.index("New in what you follow")
    questions = text.index("Questions you could answer")
    ideas = text.index("Ideas you follow")
    assert news < questions < ideas
    news_part, question_part, idea_part = text[news:questions], text[questions:ideas], text[ideas:]
    assert "New question in Billing: “Invoice is missing the VAT number”" in news_part     # answered since
    assert "other posted in “Invoice is missing the VAT number”" in news_part
    assert "New question in Billing: “Refund never arrived after ten days”" in question_part
    assert "“Refund for the sync plan upgrade” in Sync, no answer yet" in question_part      # tracked tag
    assert f"/threads/{refund.id}/" in question_part and f"/threads/{tagged.id}/" in question_part
    for absent in ("old question", "muted for good", "own question", "outside what"):   # muted since: dropped
        assert absent not in text
    assert "New question in Billing: “A locked question about card payments”" in news_part   # no answer possible
    assert "Idea “Dark mode” is now planned" in idea_part
    assert text.count("\n- ") == 6
    assert "6 new since your last digest" in text


def test_a_new_unanswered_question_alone_makes_a_digest_and_nothing_new_makes_none(app, db, make, smtp):
    sync = make.category("Sync")
    helper, asker = make.user("helper"), make.user("asker")
    subscriptions.set_category_level(helper.id, sync.id, "tracking")   # tracking: no notification per question
    db.session.commit()
    with freeze_time(utcnow() - timedelta(hours=3)):
        make.thread(author=asker, category=sync, title="Sync stops after the update")
    assert digest.build() == {"digests": 1, "items": 1}
    assert "“Sync stops after the update” in Sync, no answer yet" in _digest_text(smtp, "helper@example.com")
    with freeze_time(utcnow() + timedelta(days=1, hours=1)):
        assert digest.build() == {"digests": 0, "items": 0}              # nothing new since
    preferences.set_choice(helper.id, "unanswered", "never")
    db.session.commit()
    make.thread(author=asker, category=sync, title="Printer not found by the app")
    with freeze_time(utcnow() + timedelta(days=2, hours=1)):
        assert digest.build() == {"digests": 0, "items": 0}              # the member said no


def test_a_reminder_in_the_digest_lists_the_answers_with_accept_links_that_work(app, db, make, smtp):
    start = utcnow() - timedelta(days=3, hours=1)
    with freeze_time(start):
        asker, expert = make.user("asker"), make.user("expert")
        thread = make.thread(author=asker, title="Sync stops after the update")
        answer = make.reply(thread, author=expert, body="Delete the sync cache folder, then sign in again.")
    outbox.send_due(outbox.worker_name())
    smtp.inbox.raw.clear()
    assert reminders.run()["accept"] == 1                  # "reminder" goes to the digest by default
    assert digest.build() == {"digests": 1, "items": 1}
    text = _digest_text(smtp, "asker@example.com")
    assert "Did an answer solve “Sync stops after the update”?" in text
    assert "expert (0 votes): Delete the sync cache folder" in text
    link = text.split("Accept it: ", 1)[1].split()[0]
    token = link.rsplit("/", 1)[1]
    stored = db.session.execute(select(OutboxMessage.payload).where(OutboxMessage.sent_at.isnot(None))).scalars()
    assert all(token not in json.dumps(payload) for payload in stored)     # the link is not kept once sent
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    assert app.test_client().post(path).status_code == 200
    db.session.expire_all()
    assert db.session.get(type(thread), thread.id).accepted_post_id == answer.id
