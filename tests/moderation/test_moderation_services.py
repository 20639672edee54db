"""Moderation services: lock/pin/move, hide/restore, merge, flags, suspensions, spam limits, audit."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from community import permissions
from community.models import (
    AuditEntry,
    Flag,
    Notification,
    Post,
    PostRevision,
    Thread,
    Vote,
    utcnow,
)
from community.services.errors import Conflict, NotFound, RateLimited, ValidationError
from community.services.forum import accepting, reputation, threads, votes
from community.services.moderation import actions, flags, merging, spam, suspensions


def audits(db, action=None):
    stmt = select(AuditEntry).order_by(AuditEntry.id)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    return list(db.session.execute(stmt).scalars())


@pytest.fixture()
def mod(make):
    return make.user("mod", role="moderator")


# -- lock, pin, move ------------------------------------------------------------------

def test_lock_pin_move_audit_before_after(db, make, mod):
    thread = make.thread()
    other = make.category("Elsewhere")
    actions.set_locked(mod, thread, True)
    actions.set_pinned(mod, thread, True)
    actions.move(mod, thread, other.id)
    db.session.commit()
    assert thread.locked and thread.pinned and thread.category_id == other.id
    lock, pin, move = audits(db)
    assert (lock.action, lock.before["locked"], lock.after["locked"], lock.actor_id) == (
        "thread.lock", False, True, mod.id)
    assert (pin.action, pin.before["pinned"], pin.after["pinned"]) == ("thread.pin", False, True)
    assert move.action == "thread.move" and move.after["category"] == "Elsewhere"
    assert move.before["category_id"] != move.after["category_id"] == other.id

    # Doing it again changes nothing and writes nothing.
    actions.set_locked(mod, thread, True)
    db.session.commit()
    assert len(audits(db)) == 3
    actions.set_locked(mod, thread, False)
    actions.set_pinned(mod, thread, False)
    db.session.commit()
    assert [a.action for a in audits(db)][-2:] == ["thread.unlock", "thread.unpin"]


def test_move_rejects_unknown_category(db, make, mod):
    thread = make.thread()
    with pytest.raises(ValidationError) as err:
        actions.move(mod, thread, 9999)
    assert err.value.field == "category_id"


def test_locked_thread_refuses_members_but_not_moderators(db, make, mod):
    thread = make.thread()
    member = make.user()
    actions.set_locked(mod, thread, True)
    db.session.commit()
    assert not permissions.can_reply(member, thread)
    assert permissions.can_reply(mod, thread)


# -- hide and restore -------------------------------------------------------------------

def test_hide_and_restore_reply_keeps_row_and_counts(db, make, mod):
    thread = make.thread()
    reply = make.reply(thread)
    assert thread.reply_count == 1
    with pytest.raises(ValidationError) as err:
        actions.hide_post(mod, reply, "")
    assert err.value.field == "reason"
    actions.hide_post(mod, reply, "Advertising")
    db.session.commit()
    db.session.refresh(thread)
    assert reply.hidden and reply.hidden_reason == "Advertising" and not reply.deleted
    assert db.session.get(Post, reply.id) is not None
    assert thread.reply_count == 0
    entry = audits(db, "post.hide")[0]
    assert entry.before == {"hidden": False, "hidden_reason": None}
    assert entry.after == {"hidden": True, "hidden_reason": "Advertising"}
    actions.restore_post(mod, reply, note="False alarm")
    db.session.commit()
    db.session.refresh(thread)
    assert not reply.hidden and reply.hidden_reason is None and thread.reply_count == 1
    entry = audits(db, "post.restore")[0]
    assert entry.before["hidden"] is True and entry.after["hidden"] is False
    assert entry.note == "False alarm"


def test_hiding_question_hides_thread(db, make, mod):
    thread = make.thread()
    actions.hide_post(mod, thread.question_post, "Abusive")
    db.session.commit()
    assert thread.hidden and thread.question_post.hidden
    assert audits(db)[-1].action == "thread.hide"
    actions.restore_thread(mod, thread)
    db.session.commit()
    assert not thread.hidden and not thread.question_post.hidden
    assert audits(db)[-1].action == "thread.restore"


def test_hiding_accepted_answer_withdraws_accept_and_its_reputation(db, make, mod):
    thread = make.thread()
    answer = make.reply(thread)
    accepting.accept(thread.author, thread, answer)
    db.session.commit()
    assert answer.author.reputation_points == 15
    actions.hide_post(mod, answer, "Dangerous advice")
    db.session.commit()
    db.session.refresh(answer.author)
    assert thread.accepted_post_id is None and answer.author.reputation_points == 0
    entry = audits(db, "post.hide")[0]
    assert entry.before["accepted"] is True and entry.after["accepted"] is False
    assert reputation.recompute_all() == 0


# -- merge -------------------------------------------------------------------------------

def test_merge_moves_posts_votes_and_redirects(db, make, mod, client):
    a = make.thread(title="How do I reset my router password?")
    b = make.thread(title="Resetting the router admin password")
    a_reply = make.reply(a)
    b_reply = make.reply(b)
    voter = make.user(reputation=200)
    votes.set_vote(voter, a_reply, 1)
    votes.set_vote(voter, a.question_post, 1)
    notification_ids = [n.id for n in db.session.execute(
        select(Notification).where(Notification.thread_id == a.id)).scalars()]
    a.view_count, b.view_count = 7, 5
    db.session.commit()
    reputation.recompute_all()  # the factory sets reputation without ledger rows
    db.session.commit()
    rep_before = {u.id: u.reputation_points for u in (a.author, b.author, a_reply.author,
                                                     b_reply.author, voter)}
    a_question_id = a.question_post_id
    a_question_body = a.question_post.body

    merging.merge(mod, a, b.id)
    db.session.commit()
    db.session.expire_all()

    a, b = db.session.get(Thread, a.id), db.session.get(Thread, b.id)
    assert a.merged_into_id == b.id
    moved = db.session.get(Post, a_question_id)
    assert moved.thread_id == b.id and not moved.is_question
    assert "Merged from the question" in moved.body and a_question_body in moved.body
    revision = db.session.execute(select(PostRevision).where(PostRevision.post_id == moved.id)).scalar()
    assert revision.body == a_question_body
    assert db.session.get(Post, a_reply.id).thread_id == b.id
    # Votes stay on their posts (so they moved along) and scores are intact.
    assert db.session.get(Post, a_reply.id).score == 1 and moved.score == 1
    assert db.session.execute(select(func.count()).select_from(Vote)
                              .where(Vote.post_id.in_([a_reply.id, moved.id]))).scalar() == 2
    # Counts: B has its own reply + A's reply + A's question as an answer.
    assert b.reply_count == 3 and b.view_count == 12
    assert b.question_post_id != moved.id
    # Reputation is unchanged for everyone, and the ledger agrees.
    for user_id, points in rep_before.items():
        assert db.session.get(type(voter), user_id).reputation_points == points
    assert reputation.recompute_all() == 0
    # Notifications that pointed at A now point at B; A's URL redirects with 301.
    for nid in notification_ids:
        assert db.session.get(Notification, nid).thread_id == b.id
    response = client.get(f"/threads/{a.id}/{a.slug}")
    assert response.status_code == 301 and f"/threads/{b.id}" in response.headers["Location"]
    page = client.get(f"/threads/{b.id}/{b.slug}")
    assert page.status_code == 200 and a_question_body.encode() in page.data
    # A is in no listing any more.
    assert a.title.encode() not in client.get("/").data
    entry = audits(db, "thread.merge")[0]
    assert entry.target_id == a.id and entry.before["source"]["merged_into_id"] is None
    assert entry.after["source"]["merged_into_id"] == b.id
    assert sorted(entry.after["moved_post_ids"]) == sorted([a_question_id, a_reply.id])


def test_merge_keeps_target_unsolved_and_accept_reputation(db, make, mod):
    a, b = make.thread(), make.thread()
    answer = make.reply(a)
    accepting.accept(a.author, a, answer)
    db.session.commit()
    merging.merge(mod, a, b.id)
    db.session.commit()
    assert b.accepted_post_id is None
    db.session.refresh(answer.author)
    assert answer.author.reputation_points == 15
    assert reputation.recompute_all() == 0


def test_merge_chains_and_errors(db, make, mod):
    a, b, c = make.thread(), make.thread(), make.thread()
    with pytest.raises(ValidationError):
        merging.merge(mod, a, a.id)
    with pytest.raises(NotFound):
        merging.merge(mod, a, 99999)
    merging.merge(mod, a, b.id)
    db.session.commit()
    with pytest.raises(Conflict):
        merging.merge(mod, a, c.id)
    with pytest.raises(ValidationError):
        merging.merge(mod, c, a.id)  # A is merged: not a valid target
    merging.merge(mod, b, f"/threads/{c.id}/some-slug")
    db.session.commit()
    assert db.session.get(Thread, a.id).merged_into_id == c.id  # no redirect chains


# -- flags -------------------------------------------------------------------------------

def test_flags_hide_after_n_distinct_members(db, make, app):
    app.config["FLAGS_TO_HIDE"] = 3
    thread = make.thread()
    reply = make.reply(thread)
    flaggers = [make.user(reputation=20) for _ in range(3)]
    flags.flag_post(flaggers[0], reply, "spam", "Selling things")
    with pytest.raises(Conflict):
        flags.flag_post(flaggers[0], reply, "offensive")  # one open flag per member per post
    flags.flag_post(flaggers[1], reply, "needs_moderator")  # does not count toward hiding
    db.session.commit()
    assert not reply.hidden
    flags.flag_post(flaggers[1], thread.question_post, "off_topic")  # other post: does not count
    flags.flag_post(flaggers[2], reply, "offensive")
    db.session.commit()
    assert not reply.hidden
    extra = make.user(reputation=20)
    flags.flag_post(extra, reply, "off_topic")
    db.session.commit()
    assert reply.hidden and "Pending review" in reply.hidden_reason
    entry = audits(db, "post.auto_hide")[0]
    assert entry.actor_id is None and entry.before["hidden"] is False and entry.after["hidden"] is True
    # Flags stay open for review.
    assert db.session.execute(select(func.count()).select_from(Flag)
                              .where(Flag.post_id == reply.id, Flag.resolved_at.is_(None))).scalar() == 4


def test_flag_validation(db, make):
    reply = make.reply(make.thread())
    user = make.user(reputation=20)
    with pytest.raises(ValidationError) as err:
        flags.flag_post(user, reply, "boring")
    assert err.value.field == "reason"
    with pytest.raises(ValidationError) as err:
        flags.flag_post(user, reply, "spam", "x" * 501)
    assert err.value.field == "note"


def test_flag_privilege_threshold(db, make):
    reply = make.reply(make.thread())
    assert not permissions.can_flag(make.user(reputation=13), reply)  # 14 reputation
    assert permissions.can_flag(make.user(reputation=14), reply)      # 15 reputation
    assert not permissions.can_flag(reply.author, reply)
    assert "15" in permissions.flag_refusal(make.user(), reply)


def test_resolving_records_outcomes(db, make, mod, app):
    app.config["FLAGS_TO_HIDE"] = 2
    thread = make.thread()
    visible, hidden = make.reply(thread), make.reply(thread)
    members = [make.user(reputation=20) for _ in range(2)]
    flags.flag_post(members[0], visible, "spam")
    for m in members:
        flags.flag_post(m, hidden, "spam")
    db.session.commit()
    assert hidden.hidden and not visible.hidden
    with pytest.raises(ValidationError):
        flags.resolve(mod, visible, "restored")
    with pytest.raises(ValidationError):
        flags.resolve(mod, hidden, "dismissed")
    flags.resolve(mod, visible, "dismissed", "Not spam")
    flags.resolve(mod, hidden, "restored")
    db.session.commit()
    assert not visible.hidden and not hidden.hidden
    outcomes = dict(db.session.execute(select(Flag.post_id, Flag.outcome)).all())
    assert outcomes == {visible.id: "dismissed", hidden.id: "restored"}
    assert all(f.resolved_by_id == mod.id and f.resolved_at for f in db.session.execute(select(Flag)).scalars())
    with pytest.raises(Conflict):
        flags.resolve(mod, visible, "hidden")  # nothing open any more
    # After resolution a member may flag again; hiding through resolution records both entries.
    flags.flag_post(members[0], visible, "offensive")
    flags.resolve(mod, visible, "hidden", "Insulting")
    db.session.commit()
    assert visible.hidden and visible.hidden_reason == "Insulting"
    resolve_entries = audits(db, "flag.resolve")
    assert [e.after["outcome"] for e in resolve_entries] == ["dismissed", "restored", "hidden"]
    assert resolve_entries[-1].before == {"hidden": False, "open_flags": 1,
                                          "flag_ids": resolve_entries[-1].before["flag_ids"]}


def test_queue_groups_flags_by_post(db, make):
    thread = make.thread()
    a, b = make.reply(thread), make.reply(thread)
    users = [make.user(reputation=20) for _ in range(3)]
    flags.flag_post(users[0], a, "spam", "link farm")
    flags.flag_post(users[1], a, "offensive")
    flags.flag_post(users[2], b, "needs_moderator")
    db.session.commit()
    data = flags.queue()
    assert data["total"] == 2
    first, second = data["items"]
    assert first["post"].id == a.id and first["counts"] == {"spam": 1, "offensive": 1}
    assert [f.user.username for f in first["flags"]] == [users[0].username, users[1].username]
    assert second["post"].id == b.id
    only = flags.queue(reason="needs_moderator")
    assert [i["post"].id for i in only["items"]] == [b.id]
    assert flags.open_needing_moderator() == {thread.id: 1}


def test_moderator_hide_resolves_open_flags(db, make, mod):
    reply = make.reply(make.thread())
    flags.flag_post(make.user(reputation=20), reply, "spam")
    actions.hide_post(mod, reply, "Spam")
    db.session.commit()
    flag = db.session.execute(select(Flag)).scalar()
    assert flag.outcome == "hidden" and flag.resolved_by_id == mod.id


# -- suspensions ----------------------------------------------------------------------------

def test_suspend_and_reinstate(db, make, mod):
    member = make.user()
    with pytest.raises(ValidationError) as err:
        suspensions.suspend(mod, member, "Spamming", "2001-01-01")
    assert err.value.field == "until"
    with pytest.raises(ValidationError) as err:
        suspensions.suspend(mod, member, "", (utcnow() + timedelta(days=3)).date().isoformat())
    assert err.value.field == "reason"
    suspensions.suspend(mod, member, "Spamming", (utcnow() + timedelta(days=3)).date().isoformat())
    db.session.commit()
    assert member.is_suspended and member.suspension_reason == "Spamming"
    assert not permissions.is_active_member(member)
    assert not permissions.can_create_thread(member)
    entry = audits(db, "user.suspend")[0]
    assert entry.before["active"] is False and entry.after["active"] is True
    assert entry.after["reason"] == "Spamming"
    suspensions.reinstate(mod, member)
    db.session.commit()
    assert not member.is_suspended and permissions.can_create_thread(member)
    assert audits(db, "user.reinstate")[0].before["suspended_until"] is not None
    with pytest.raises(Conflict):
        suspensions.reinstate(mod, member)


def test_suspension_ends_at_its_date(db, make):
    member = make.user()
    member.suspended_until = utcnow() + timedelta(minutes=5)
    db.session.commit()
    assert member.is_suspended
    member.suspended_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert not member.is_suspended and permissions.is_active_member(member)


def test_who_may_suspend_whom(db, make, mod):
    admin = make.user(role="admin")
    other_mod = make.user(role="moderator")
    member = make.user()
    agent = make.user(role="agent")
    assert permissions.can_suspend(mod, member)
    assert not permissions.can_suspend(mod, other_mod)
    assert not permissions.can_suspend(mod, agent)
    assert not permissions.can_suspend(mod, mod)
    assert permissions.can_suspend(admin, other_mod)
    assert not permissions.can_suspend(agent, member)
    assert not permissions.can_suspend(member, agent)


# -- new-account limits -----------------------------------------------------------------------

def test_new_account_link_limit(db, make, app):
    app.config["NEW_ACCOUNT_LINKS_PER_POST"] = 2
    newbie = make.user()
    thread = make.thread()
    body = "See https://a.example/x and http://b.example and www.c.example for details."
    assert spam.count_links(body) == 3
    with pytest.raises(ValidationError) as err:
        threads.add_reply(newbie, thread, body)
    assert err.value.field == "body" and "at most 2 links" in err.value.message
    with pytest.raises(ValidationError):
        threads.create_thread(newbie, thread.category, "A question with many links", body)
    db.session.rollback()
    threads.add_reply(newbie, thread, "Only [one](https://a.example) and www.b.example here.")
    # Established members and staff are not limited.
    veteran = make.user(reputation=50)
    veteran.created_at = utcnow() - timedelta(days=30)
    threads.add_reply(veteran, thread, body)
    threads.add_reply(make.user(role="moderator"), thread, body)
    db.session.commit()


def test_new_account_is_young_or_low_reputation(db, make, app):
    app.config.update(NEW_ACCOUNT_DAYS=2, NEW_ACCOUNT_REPUTATION=10)
    young_rich = make.user(reputation=100)
    old_poor = make.user()
    old_poor.created_at = utcnow() - timedelta(days=10)
    old_rich = make.user(reputation=100)
    old_rich.created_at = utcnow() - timedelta(days=10)
    assert spam.is_new_account(young_rich) and spam.is_new_account(old_poor)
    assert not spam.is_new_account(old_rich)


def test_new_account_posts_per_hour(db, make, app):
    app.config.update(NEW_ACCOUNT_POSTS_PER_HOUR=2, RATELIMIT_ENABLED=True)
    newbie = make.user()
    thread = make.thread()
    threads.add_reply(newbie, thread, "First helpful answer here.")
    threads.create_thread(newbie, thread.category, "My own question about routers", "Body text long enough here.")
    db.session.commit()
    with pytest.raises(RateLimited) as err:
        threads.add_reply(newbie, thread, "Third post within the hour.")
    assert "2 times per hour" in err.value.message
    db.session.rollback()
    # Posts older than an hour no longer count.
    for post in db.session.execute(select(Post).where(Post.author_id == newbie.id)).scalars():
        post.created_at = utcnow() - timedelta(minutes=61)
    db.session.commit()
    threads.add_reply(newbie, thread, "Back after an hour.")
    db.session.commit()


def test_limits_skip_imports_with_timestamps(db, make, app):
    app.config["NEW_ACCOUNT_LINKS_PER_POST"] = 0
    newbie = make.user()
    thread = make.thread()
    threads.add_reply(newbie, thread, "Imported https://x.example", created_at=utcnow() - timedelta(days=1))
    with pytest.raises(ValidationError):
        threads.add_reply(newbie, thread, "Live https://x.example")


# -- staff edits are audited ----------------------------------------------------------------------

def test_staff_edit_of_others_post_is_audited_with_revision(db, make, mod):
    thread = make.thread()
    reply = make.reply(thread, body="Original answer text")
    threads.edit_post(mod, reply, "Cleaned-up answer text", reason="Removed a phone number")
    db.session.commit()
    entry = audits(db, "post.edit")[0]
    assert entry.actor_id == mod.id and entry.target_id == reply.id
    assert entry.before == {"body": "Original answer text"}
    assert entry.after == {"body": "Cleaned-up answer text"}
    assert entry.note == "Removed a phone number"
    assert len(threads.revisions(reply.id)) == 1
    # Authors editing their own posts are not audited.
    threads.edit_post(reply.author, reply, "Author's own rewrite")
    db.session.commit()
    assert len(audits(db, "post.edit")) == 1


def test_attention_flags_close_on_escalation(db, make, mod):
    thread = make.thread()
    reply = make.reply(thread)
    member = make.user(reputation=20)
    flags.flag_post(member, thread.question_post, "needs_moderator", "No answer in days")
    flags.flag_post(member, reply, "spam")
    db.session.commit()
    assert flags.open_needing_moderator() == {thread.id: 1}
    assert flags.resolve_attention_flags(mod, thread.id) == 1
    db.session.commit()
    assert flags.open_needing_moderator() == {}
    outcomes = dict(db.session.execute(select(Flag.reason, Flag.outcome)).all())
    assert outcomes == {"needs_moderator": "escalated", "spam": None}
    assert flags.resolve_attention_flags(mod, thread.id) == 0


def test_hiding_a_post_hidden_meanwhile_changes_no_counter(db, make, mod):
    """A request holding a stale copy (another one hid the post first) must not decrement twice."""
    from sqlalchemy import update

    thread = make.thread()
    reply = make.reply(thread)
    db.session.execute(update(Post).where(Post.id == reply.id).values(hidden=True, hidden_reason="x")
                       .execution_options(synchronize_session=False))
    db.session.execute(update(Thread).where(Thread.id == thread.id).values(reply_count=0)
                       .execution_options(synchronize_session=False))
    assert reply.hidden is False  # the stale copy
    actions.hide_post(mod, reply, "Spam again")
    db.session.commit()
    db.session.refresh(thread)
    assert thread.reply_count == 0 and reply.hidden and reply.hidden_reason == "x"
    assert audits(db, "post.hide") == []
