"""Reminders that close threads: the asker reminded once to accept (answers listed), unanswered
questions offered once to their category's and tags' watchers, and moderators accepting for
askers who never did (audited, reputation as for any accept)."""
from __future__ import annotations

from datetime import timedelta

from freezegun import freeze_time
from sqlalchemy import select

from community.models import AuditEntry, Notification, OutboxMessage, User, utcnow
from community.services.accounts import preferences, subscriptions
from community.services.forum import accepting, votes
from community.services.mail import reminders


def _notes(db, user, kind):
    db.session.expire_all()
    return db.session.execute(select(Notification).where(Notification.user_id == user.id,
                                                         Notification.kind == kind)).scalars().all()


def _answered(make, db, title="Sync stops after the update"):
    asker, helper, expert = make.user("asker"), make.user("helper"), make.user("expert", reputation=500)
    thread = make.thread(author=asker, title=title)
    weak = make.reply(thread, author=helper, body="Maybe restart your computer and try again.")
    strong = make.reply(thread, author=expert, body="Delete the sync cache folder, then sign in again.")
    make.reply(thread, author=asker, body="Thanks both, trying now.")      # the asker's own reply is no answer
    votes.set_vote(helper, strong, 1)
    db.session.commit()
    return asker, thread, weak, strong


def test_the_asker_is_reminded_once_after_the_days_with_the_answers_best_voted_first(app, db, make):
    start = utcnow()
    with freeze_time(start):
        asker, thread, weak, strong = _answered(make, db)
        preferences.set_choice(asker.id, "reminder", "immediately")
        db.session.commit()
    with freeze_time(start + timedelta(days=2, hours=23)):
        assert reminders.run()["accept"] == 0
    with freeze_time(start + timedelta(days=3, minutes=1)):
        assert reminders.run()["accept"] == 1
        assert reminders.run()["accept"] == 0                                # once
    [note] = _notes(db, asker, "reminder")
    assert note.message == "Did an answer solve “Sync stops after the update”? Accept the one that did"
    mail = [m for m in db.session.execute(select(OutboxMessage)).scalars()
            if m.payload.get("to") == "asker@example.com" and "Accept the one" in m.payload["subject"]]
    assert len(mail) == 1
    text = mail[0].payload["text"]
    assert text.index("expert (1 votes)") < text.index("helper (0 votes)")
    assert f"#post-{strong.id}" in text and f"#post-{weak.id}" in text
    assert "Thanks both" not in text


def test_no_reminder_for_a_solved_thread_or_one_only_the_asker_replied_to(db, make):
    start = utcnow()
    with freeze_time(start):
        asker, thread, weak, strong = _answered(make, db)
        accepting.accept(asker, thread, strong)
        lonely = make.thread(author=asker, title="Only I replied to this one so far")
        make.reply(lonely, author=asker, body="Bumping my own question here.")
        db.session.commit()
    with freeze_time(start + timedelta(days=4)):
        assert reminders.run()["accept"] == 0
    assert _notes(db, asker, "reminder") == []


def test_an_unanswered_question_is_offered_once_to_its_category_and_tag_watchers(db, make):
    billing = make.category("Billing")
    fan, tag_fan, muted, asker = make.user("fan"), make.user("tagfan"), make.user("muted"), make.user("asker")
    subscriptions.set_category_level(fan.id, billing.id, "watching")
    subscriptions.set_category_level(muted.id, billing.id, "watching")
    db.session.commit()
    start = utcnow()
    with freeze_time(start):
        thread = make.thread(author=asker, category=billing, tags="refunds", title="Refund never arrived, who can help?")
        answered = make.thread(author=asker, category=billing, title="This one got an answer quickly")
        make.reply(answered, author=fan)
    subscriptions.set_tag_level(tag_fan.id, thread.tags[0].id, "watching")
    subscriptions.set_thread_level(muted.id, thread.id, "muted")
    subscriptions.set_category_level(asker.id, billing.id, "watching")
    db.session.commit()
    with freeze_time(start + timedelta(hours=25)):
        assert reminders.run() == {"accept": 0, "unanswered": 1, "told": 2}
        assert reminders.run()["unanswered"] == 0
    assert [n.message for n in _notes(db, fan, "unanswered")] == [
        "Nobody has answered “Refund never arrived, who can help?” yet: can you?"]
    assert len(_notes(db, tag_fan, "unanswered")) == 1
    assert _notes(db, muted, "unanswered") == [] and _notes(db, asker, "unanswered") == []


def test_moderators_see_never_accepted_threads_and_accept_for_the_asker_audited(client, db, make, login):
    start = utcnow() - timedelta(days=5)
    with freeze_time(start):
        asker, thread, weak, strong = _answered(make, db, title="Printer queue is stuck forever")
    expert = db.session.get(User, strong.author_id)
    before = expert.reputation
    mod = make.user("mod", role="moderator")
    login(mod)
    page = client.get("/moderation/unaccepted").get_data(as_text=True)
    assert "Printer queue is stuck forever" in page and "Delete the sync cache folder" in page
    assert "Maybe restart your computer" not in page                       # the best-voted one only
    assert client.post(f"/threads/{thread.id}/accept", data={"post_id": strong.id}).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, expert.id).reputation == before + 15
    entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "thread.accept")).scalar_one()
    assert entry.actor_id == mod.id and entry.after == {"accepted_post_id": strong.id}
    assert "Printer queue" not in client.get("/moderation/unaccepted").get_data(as_text=True)
    login(asker)
    assert client.get("/moderation/unaccepted").status_code == 403


def test_the_reminders_command_prints_what_it_did(app, db, make):
    start = utcnow()
    with freeze_time(start):
        _answered(make, db)
    with freeze_time(start + timedelta(days=3, hours=1)):
        result = app.test_cli_runner().invoke(args=["mail", "reminders"])
    assert result.exit_code == 0 and "reminded 1 askers to accept" in result.output
