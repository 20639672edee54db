"""Watching, tracking and muting threads, categories and tags; the member's default after
asking or answering; each kind of event set to email, digest, site only or off."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from community.models import Notification, ThreadSubscription
from community.services.accounts import preferences, subscriptions
from community.services.forum import threads as forum_threads


def _notes(db, user, kind=None):
    db.session.expire_all()
    rows = db.session.execute(select(Notification).where(Notification.user_id == user.id)
                              .order_by(Notification.id)).scalars().all()
    return [n.message for n in rows if kind is None or n.kind == kind]


def test_watching_a_category_announces_new_questions_and_every_post(db, make):
    fan, asker, helper = make.user("fan"), make.user("asker"), make.user("helper")
    billing = make.category("Billing")
    subscriptions.set_category_level(fan.id, billing.id, "watching")
    db.session.commit()
    thread = make.thread(author=asker, category=billing, title="Where did my March invoice go?")
    make.reply(thread, author=helper)
    other = make.thread(author=asker, title="Unrelated question about the mobile app")
    make.reply(other, author=helper)
    assert _notes(db, fan, "watching") == ["New question in Billing: “Where did my March invoice go?”",
                                           "helper posted in “Where did my March invoice go?”"]


def test_a_muted_tag_silences_a_watched_category_and_the_threads_own_level_wins(db, make):
    fan, asker, helper = make.user("fan"), make.user("asker"), make.user("helper")
    billing = make.category("Billing")
    subscriptions.set_category_level(fan.id, billing.id, "watching")
    db.session.commit()
    noisy = make.thread(author=asker, category=billing, tags="refunds", title="Refund for a double charge please")
    tag_id = noisy.tags[0].id
    subscriptions.set_tag_level(fan.id, tag_id, "muted")
    db.session.commit()
    assert subscriptions.effective(fan.id, noisy.id) == "muted"
    make.reply(noisy, author=helper, body="Refunds take five days. @fan knows more.")
    assert _notes(db, fan) == ["New question in Billing: “Refund for a double charge please”"]   # before the mute
    subscriptions.set_thread_level(fan.id, noisy.id, "watching")
    db.session.commit()
    make.reply(noisy, author=helper, body="Update: it is three days now.")
    assert _notes(db, fan)[-1] == "helper posted in “Refund for a double charge please”"


def test_tracking_counts_unread_posts_without_a_notice_for_each_and_mentions_still_notify(client, db, make, login):
    reader, asker, helper = make.user("reader"), make.user("asker"), make.user("helper")
    thread = make.thread(author=asker, title="Sync stops after the update")
    subscriptions.set_thread_level(reader.id, thread.id, "tracking")
    db.session.commit()
    make.reply(thread, author=helper, body="Restart the sync agent.")
    make.reply(thread, author=helper, body="Or ask @reader, who fixed it.")
    assert _notes(db, reader) == ["helper mentioned you in “Sync stops after the update”"]
    login(reader)
    inbox = client.get("/notifications").get_data(as_text=True)
    assert "Sync stops after the update" in inbox and "2 new posts" in inbox
    client.get(f"/threads/{thread.id}/{thread.slug}")
    assert "new post" not in client.get("/notifications").get_data(as_text=True)
    make.reply(thread, author=helper, body="One more idea for you.")
    assert "1 new post" in client.get("/notifications").get_data(as_text=True)


def test_a_tracked_category_tracks_the_threads_a_member_opens(client, db, make, login):
    reader, asker, helper = make.user("reader"), make.user("asker"), make.user("helper")
    billing = make.category("Billing")
    thread = make.thread(author=asker, category=billing)
    login(reader)
    assert client.post(f"/categories/{billing.slug}/watch", data={"level": "tracking"}).status_code == 302
    client.get(f"/threads/{thread.id}/{thread.slug}")
    row = db.session.get(ThreadSubscription, (reader.id, thread.id))
    assert row.level == "tracking" and row.last_read_post_id == thread.question_post_id
    make.reply(thread, author=helper)
    assert "1 new post" in client.get("/notifications").get_data(as_text=True)
    assert _notes(db, reader) == []


def test_asking_uses_the_members_default_level(db, make):
    asker = make.user("asker")
    subscriptions.set_auto_watch(asker, "tracking")
    db.session.commit()
    first = make.thread(author=asker)
    assert subscriptions.thread_level(asker.id, first.id) == "tracking"
    subscriptions.set_auto_watch(asker, None)
    db.session.commit()
    second = make.thread(author=asker)
    assert subscriptions.thread_level(asker.id, second.id) is None


def test_off_means_not_even_in_app_and_site_only_means_no_mail(db, make):
    asker, helper = make.user("asker"), make.user("helper")
    preferences.set_choice(asker.id, "reply", "off")
    preferences.set_choice(helper.id, "accepted", "never")
    db.session.commit()
    thread = make.thread(author=asker)
    answer = make.reply(thread, author=helper)
    from community.services.forum import accepting

    accepting.accept(asker, thread, answer)
    db.session.commit()
    assert _notes(db, asker) == []
    assert [n for n in _notes(db, helper, "accepted")]
    from community.models import OutboxMessage

    assert [m for m in db.session.execute(select(OutboxMessage)).scalars() if m.payload.get("to")
            in ("asker@example.com", "helper@example.com")] == []


def test_the_settings_page_sets_levels_for_categories_and_tags_and_the_default(client, db, make, login):
    carol = make.user("carol")
    billing = make.category("Billing")
    make.thread(author=carol, tags="refunds")
    login(carol)
    r = client.post("/settings/notifications", data={"auto_watch": "tracking", f"category-{billing.id}": "watching",
                                                     "new_tag": "Refunds", "new_tag_level": "muted",
                                                     "idea": "immediately", "ticket": "off"})
    assert r.status_code == 302
    db.session.expire_all()
    assert carol.auto_watch == "tracking" and subscriptions.category_level(carol.id, billing.id) == "watching"
    assert subscriptions.tag_level_by_name(carol, "refunds") == "muted"
    assert preferences.email_choice(carol.id, "idea") == "immediately"
    assert preferences.email_choice(carol.id, "ticket") == "off"
    page = client.get("/settings/notifications").get_data(as_text=True)
    assert 'value="watching" selected' in page and ">refunds<" in page
    assert client.post("/settings/notifications", data={"new_tag": "no-such-tag"}).status_code == 400
    assert client.post("/settings/notifications", data={"category-999999": "watching"}).status_code == 400
    assert client.post("/settings/notifications", data={f"category-{billing.id}": "loud"}).status_code == 400
    assert client.post("/tags/no-such-tag/watch", data={"level": "watching"}).status_code == 404


def test_the_thread_page_says_what_its_category_implies(client, db, make, login):
    carol, asker = make.user("carol"), make.user("asker")
    billing = make.category("Billing")
    thread = make.thread(author=asker, category=billing)
    subscriptions.set_category_level(carol.id, billing.id, "muted")
    db.session.commit()
    login(carol)
    page = client.get(f"/threads/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert "Notifications: muted (from its category or tags)." in page
    forum_threads.get_thread(thread.id)


def test_mentions_link_to_existing_profiles_and_notify_but_not_inside_code(db, make):
    carol, asker = make.user("carol"), make.user("asker")
    thread = make.thread(author=asker, body="Does @Carol know? Not `@carol` in code, nor @nobody-here at all.")
    html = db.session.get(type(thread.question_post), thread.question_post_id).body_html
    assert '<a class="mention" href="/users/carol" rel="nofollow ugc">@Carol</a>' in html
    assert "<code>@carol</code>" in html and "@nobody-here" in html and "/users/nobody-here" not in html
    assert _notes(db, carol, "mention") == [f"asker mentioned you in “{thread.title}”"]


@pytest.mark.parametrize("note_kind", ["idea_status", "idea_comment", "ticket_reply", "ticket_status", "reminder",
                                       "unanswered", "reply", "accepted", "mention", "watching"])
@pytest.mark.parametrize("choice", ["immediately", "digest", "never", "off"])
def test_every_notification_kind_follows_its_channel(db, make, note_kind, choice):
    from community.models import EMAIL_KIND_OF, OutboxMessage
    from community.services import notifications

    carol = make.user("carol")
    preferences.set_choice(carol.id, EMAIL_KIND_OF[note_kind], choice)
    db.session.commit()
    notifications.notify(carol.id, note_kind, "Something happened", "/questions")
    db.session.commit()
    in_app = _notes(db, carol)
    mails = [m for m in db.session.execute(select(OutboxMessage)).scalars() if m.payload.get("to") == "carol@example.com"]
    assert (len(in_app), len(mails)) == {"immediately": (1, 1), "digest": (1, 0), "never": (1, 0), "off": (0, 0)}[choice]


def test_the_fan_out_reads_every_recipients_mute_from_one_levels_read_as_effective_gives_it(db, make):
    """A reply's fan-out reads the thread's levels once (``levels_for``) and asks each recipient's
    mute of that map: it must say what ``effective`` says, member by member, own level first."""
    asker, helper, watcher = make.user("asker"), make.user("helper"), make.user("watcher")
    tag_muter, overrider, category_muter = make.user("tagmuter"), make.user("overrider"), make.user("catmuter")
    billing = make.category("Billing")
    thread = make.thread(author=asker, category=billing, tags="refunds", title="Refund for a double charge please")
    tag_id = thread.tags[0].id
    subscriptions.set_category_level(asker.id, billing.id, "muted")      # the asker mutes the category...
    subscriptions.set_thread_level(asker.id, thread.id, None)            # ...and has no level of the thread's own
    subscriptions.set_thread_level(watcher.id, thread.id, "watching")
    subscriptions.set_category_level(tag_muter.id, billing.id, "watching")
    subscriptions.set_tag_level(tag_muter.id, tag_id, "muted")           # muted wins over watching
    subscriptions.set_tag_level(overrider.id, tag_id, "muted")
    subscriptions.set_thread_level(overrider.id, thread.id, "watching")  # the thread's own level wins
    subscriptions.set_category_level(category_muter.id, billing.id, "muted")
    db.session.commit()
    levels = subscriptions.levels_for(thread)
    members = (asker, helper, watcher, tag_muter, overrider, category_muter)
    assert {m.username: levels.get(m.id) for m in members} == {
        m.username: subscriptions.effective(m.id, thread.id) for m in members}
    assert levels.get(asker.id) == "muted" and levels.get(overrider.id) == "watching"
    make.reply(thread, author=helper, body="Refunds take five days; @tagmuter and @catmuter know more.")
    assert _notes(db, asker) == []                                        # muted: no "reply"
    assert _notes(db, watcher) == ["helper posted in “Refund for a double charge please”"]
    assert _notes(db, overrider) == ["helper posted in “Refund for a double charge please”"]
    assert _notes(db, tag_muter) == [] and _notes(db, category_muter) == []   # muted: no mention either
