"""Mail throttling: one mail per thread per hour per person (later posts batched into the next),
and a daily ceiling per person; resets and confirmations are never held back."""
from __future__ import annotations

from datetime import timedelta

from freezegun import freeze_time
from sqlalchemy import select

from community.models import Notification, OutboxMessage, utcnow
from community.services.accounts import preferences
from community.services.mail import outbox


def _mails(db, to):
    db.session.expire_all()
    rows = db.session.execute(select(OutboxMessage).where(OutboxMessage.channel == "email")
                              .order_by(OutboxMessage.id)).scalars()
    return [m for m in rows if m.payload.get("to") == to]


def test_replies_within_the_hour_are_batched_into_the_next_mail(db, make, app):
    asker = make.user("asker")
    helpers = [make.user(f"helper{i}") for i in range(4)]
    start = utcnow().replace(microsecond=0)
    with freeze_time(start) as clock:
        thread = make.thread(author=asker, title="Sync stops after the update")
        make.reply(thread, author=helpers[0], body="Restart the sync agent first.")
        clock.tick(timedelta(minutes=5))
        make.reply(thread, author=helpers[1], body="Check the proxy settings too.")
        clock.tick(timedelta(minutes=5))
        make.reply(thread, author=helpers[2], body="Clearing the cache fixed it for me.")
    mails = _mails(db, "asker@example.com")
    assert len(mails) == 2, "the first at once, the next two in one mail an hour after it"
    first, batch = mails
    assert first.available_at == start
    assert batch.available_at == start + timedelta(hours=1)
    # the batch holds both items and is rendered once, when it is sent (not for every item added)
    assert [item["message"] for item in batch.payload["items"]] == \
        ["helper1 answered “Sync stops after the update”", "helper2 answered “Sync stops after the update”"]
    assert "helper2" not in batch.payload["text"] and batch.payload["render_when_sent"] is True
    message_id = batch.payload["message_id"]
    # nothing of the batch goes before its hour
    with freeze_time(start + timedelta(minutes=30)):
        assert outbox.send_due(outbox.worker_name())["sent"] == 1      # the first only
    with freeze_time(start + timedelta(minutes=60, seconds=1)):
        assert outbox.send_due(outbox.worker_name())["sent"] == 1      # the batch, rendered now
    batch = _mails(db, "asker@example.com")[1]
    assert batch.sent_at is not None and "render_when_sent" not in batch.payload
    assert batch.payload["subject"].startswith("2 new posts: ")
    assert "helper1 answered" in batch.payload["text"] and "helper2 answered" in batch.payload["text"]
    assert batch.payload["text"].count(f"/threads/{thread.id}/") == 2
    assert batch.payload["message_id"] == message_id
    with freeze_time(start + timedelta(minutes=61)):
        make.reply(thread, author=helpers[3], body="Also try signing out and in.")
        assert len(_mails(db, "asker@example.com")) == 3                # the batch was due: a new slot
        assert _mails(db, "asker@example.com")[-1].available_at == start + timedelta(hours=2)
    # in-app notifications are never held back
    assert db.session.query(Notification).filter_by(user_id=asker.id, kind="reply").count() == 4


def test_another_thread_is_not_held_back_by_the_first(db, make):
    asker, helper = make.user("asker"), make.user("helper")
    one, two = make.thread(author=asker), make.thread(author=asker)
    make.reply(one, author=helper)
    make.reply(two, author=helper)
    mails = _mails(db, "asker@example.com")
    assert len(mails) == 2 and mails[0].available_at <= utcnow() and mails[1].available_at <= utcnow()


def test_the_daily_ceiling_stops_notification_mail_but_not_a_password_reset(db, make, app, client):
    app.config["MAIL_DAILY_LIMIT_PER_USER"] = 3
    asker, helper = make.user("asker"), make.user("helper")
    for _ in range(5):
        make.reply(make.thread(author=asker), author=helper)
    assert len(_mails(db, "asker@example.com")) == 3
    assert db.session.query(Notification).filter_by(user_id=asker.id).count() == 5
    client.post("/forgot", data={"email": "asker@example.com"})
    assert len(_mails(db, "asker@example.com")) == 4                      # the reset request is queued
    with freeze_time(utcnow() + timedelta(days=1, minutes=1)):
        make.reply(make.thread(author=asker), author=helper)
    assert len(_mails(db, "asker@example.com")) == 5                      # a new day


def test_a_member_who_chose_the_digest_is_not_counted_or_throttled(db, make):
    asker, helper = make.user("asker"), make.user("helper")
    preferences.set_choice(asker.id, "reply", "digest")
    db.session.commit()
    make.reply(make.thread(author=asker), author=helper)
    assert _mails(db, "asker@example.com") == []


def test_the_worker_holds_back_what_was_queued_past_the_ceiling_and_still_sends_resets(db, make, app, client):
    """The queue's check can be passed by events at the same instant (it takes no lock across
    members); the worker's, under a lock per member, cannot."""
    asker, helper = make.user("asker"), make.user("helper")
    for _ in range(5):
        make.reply(make.thread(author=asker), author=helper)
    client.post("/forgot", data={"email": "asker@example.com"})
    assert len(_mails(db, "asker@example.com")) == 6              # 40 a day: all five queued, and the reset
    app.config["MAIL_DAILY_LIMIT_PER_USER"] = 2                   # as if five had raced past a ceiling of 2
    counts = outbox.send_due(outbox.worker_name())
    assert counts["sent"] == 3                                    # two notifications and the reset
    mails = _mails(db, "asker@example.com")
    held = [m for m in mails if m.last_error == outbox.HELD_BACK]
    assert [m.id for m in held] == [m.id for m in mails[2:5]] and all(m.sent_at for m in held)
    assert mails[5].sent_at is not None and mails[5].last_error is None       # the reset went
    assert "held back in the last 24 hours 3 " in app.test_cli_runner().invoke(args=["mail", "status"]).output
    assert outbox.send_due(outbox.worker_name()) == {"sent": 0, "retry": 0, "failed": 0, "skipped": 0, "lost": 0}
    with freeze_time(utcnow() + timedelta(days=1, minutes=1)):
        make.reply(make.thread(author=asker), author=helper)
        assert outbox.send_due(outbox.worker_name())["sent"] == 1  # a new day, a new share


def test_a_batched_mail_whose_member_is_deleted_before_it_goes_is_not_sent(db, make):
    """The batch is rendered when it is sent: by then the member may be gone (nothing is sent)."""
    asker, helpers = make.user("asker"), [make.user(f"helper{i}") for i in range(2)]
    start = utcnow().replace(microsecond=0)
    with freeze_time(start) as clock:
        thread = make.thread(author=asker)
        make.reply(thread, author=helpers[0])
        clock.tick(timedelta(minutes=5))
        make.reply(thread, author=helpers[1])
        clock.tick(timedelta(minutes=1))
        make.reply(thread, author=helpers[0], body="And restart the agent after that.")
        assert outbox.send_due(outbox.worker_name())["sent"] == 1            # the first
        # delete_account withdraws the member's waiting mail itself; a row already past that
        # (claimed by a worker meanwhile) finds the account gone when it is rendered
        asker.deleted_at = utcnow()
        db.session.commit()
    batch = db.session.execute(select(OutboxMessage).where(OutboxMessage.user_id == asker.id,
                                                           OutboxMessage.sent_at.is_(None))).scalars().all()
    assert len(batch) == 1 and batch[0].payload["render_when_sent"]         # the two later replies
    with freeze_time(start + timedelta(hours=1, seconds=1)):
        counts = outbox.send_due(outbox.worker_name())
    assert counts["sent"] == 0 and counts["skipped"] == 1
    db.session.expire_all()
    assert all(row.last_error == outbox.MEMBER_GONE for row in batch)
