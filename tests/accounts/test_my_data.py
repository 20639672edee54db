""""My data": the JSON export, deleting an account (posts stay as "deleted user", personal data
goes, other members' reputation unchanged), and moderators doing both on a member's request."""
from __future__ import annotations

import json

from sqlalchemy import func, select

from community.models import (
    ApiToken,
    AuditEntry,
    CategorySubscription,
    Notification,
    NotificationPreference,
    OutboxMessage,
    Post,
    ReputationEvent,
    TagSubscription,
    ThreadSubscription,
    Ticket,
    User,
)
from community.services.accounts import mydata, subscriptions, users
from community.services.forum import accepting, votes
from community.services.forum import threads as forum_threads
from community.services.tickets import workflow


def _scene(make, db):
    """carol asks and answers, dan answers her, carol accepts dan and upvotes him; a ticket, a token."""
    carol, dan = make.user("carol"), make.user("dan", reputation=500)
    thread = make.thread(author=carol, title="Where are my March invoices?")
    answer = make.reply(thread, author=dan, body="Billing, then History, then March.")
    own = make.reply(make.thread(author=dan), author=carol, body="Carol's own answer with her phone 555-0100.")
    accepting.accept(carol, thread, answer)
    votes.set_vote(carol, answer, 1)
    workflow.open_ticket(source="contact", subject="Invoice", body="Please call me at 555-0100.",
                         requester=carol, requester_name="Carol Danvers", requester_email="carol@example.com")
    users.issue_token(carol, "export script")
    subscriptions.set_category_level(carol.id, thread.category_id, "watching")
    tag = forum_threads.get_tags(["invoices"])[0]
    db.session.flush()
    subscriptions.set_tag_level(carol.id, tag.id, "muted")
    carol.display_name, carol.location, carol.website = "Carol Danvers", "Lyon", "https://carol.example.com"
    db.session.commit()
    return carol, dan, thread, answer, own


def test_export_holds_what_the_member_wrote_and_what_is_stored_about_them_but_no_secrets(client, make, login, db):
    carol, dan, thread, answer, own = _scene(make, db)
    login(carol)
    r = client.get("/settings/data/export")
    assert r.status_code == 200 and r.mimetype == "application/json"
    assert r.headers["Content-Disposition"] == 'attachment; filename="carol-data.json"'
    data = json.loads(r.get_data(as_text=True))
    assert data["profile"]["username"] == "carol" and data["profile"]["location"] == "Lyon"
    assert [t["title"] for t in data["threads"]] == ["Where are my March invoices?"]
    assert {p["id"] for p in data["posts"]} == {thread.question_post_id, own.id}
    assert [v["post_id"] for v in data["votes"]] == [answer.id]
    assert [t["subject"] for t in data["tickets"]] == ["Invoice"]
    assert [t["name"] for t in data["api_tokens"]] == ["export script"]
    assert [s["level"] for s in data["category_subscriptions"]] == ["watching"]
    assert [s["level"] for s in data["tag_subscriptions"]] == ["muted"]
    assert data["reputation_events"] and all(row["user_id"] == carol.id for row in data["reputation_events"])
    text = r.get_data(as_text=True)
    assert "password_hash" not in text and "token_hash" not in text
    assert dan.email not in text           # nobody else's personal data


def test_deleting_keeps_posts_as_deleted_user_and_removes_personal_data(client, make, login, db):
    carol, dan, thread, answer, own = _scene(make, db)
    dan_reputation = db.session.get(User, dan.id).reputation
    ledger_rows = db.session.execute(select(func.count()).select_from(ReputationEvent)).scalar_one()
    login(carol)
    r = client.post("/settings/delete", data={"confirm_username": "carol", "password": "password123"})
    assert r.status_code == 302
    db.session.expire_all()
    gone = db.session.get(User, carol.id)
    assert gone.deleted_at is not None and gone.username == f"deleted-{carol.id}"
    assert gone.email.endswith("@deleted.invalid") and gone.display_name is None and gone.location is None
    assert gone.website is None and gone.oidc_subject is None
    for model, column in ((ApiToken, ApiToken.user_id), (Notification, Notification.user_id),
                          (NotificationPreference, NotificationPreference.user_id),
                          (ThreadSubscription, ThreadSubscription.user_id),
                          (CategorySubscription, CategorySubscription.user_id),
                          (TagSubscription, TagSubscription.user_id)):
        assert db.session.execute(select(func.count()).select_from(model).where(column == carol.id)).scalar_one() == 0
    ticket = db.session.execute(select(Ticket).where(Ticket.requester_id == carol.id)).scalar_one()
    assert (ticket.requester_name, ticket.requester_email) == (None, None)
    # the posts stay, and the community's numbers do not move
    assert db.session.get(Post, own.id).body.startswith("Carol's own answer")
    assert db.session.get(User, dan.id).reputation == dan_reputation
    assert db.session.execute(select(func.count()).select_from(ReputationEvent)).scalar_one() == ledger_rows
    page = client.get(f"/threads/{thread.id}", follow_redirects=True).get_data(as_text=True)
    assert "deleted user" in page and ">carol<" not in page
    # signed out, and the old password opens nothing
    assert client.get("/settings").status_code == 302
    assert "Signed in" not in login(carol).get_data(as_text=True)
    assert client.get("/settings").status_code == 302
    entry = db.session.execute(select(AuditEntry).where(AuditEntry.action == "user.delete")).scalar_one()
    assert entry.actor_id == carol.id and entry.before["username"] == "carol"


def test_deleting_needs_the_username_typed_and_the_password(client, make, login, db):
    carol = make.user("carol")
    login(carol)
    wrong_name = client.post("/settings/delete", data={"confirm_username": "carla", "password": "password123"})
    wrong_password = client.post("/settings/delete", data={"confirm_username": "carol", "password": "nope"})
    assert wrong_name.status_code == 400 and "Type your username" in wrong_name.get_data(as_text=True)
    assert wrong_password.status_code == 400 and "password is not right" in wrong_password.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, carol.id).deleted_at is None


def test_pending_mail_to_a_deleted_member_is_not_sent(client, make, login, db):
    carol, dan, thread, answer, own = _scene(make, db)
    make.reply(thread, author=dan, body="And another answer for Carol.")    # queues a "reply" mail to her
    waiting = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.user_id == carol.id,
                                                                    OutboxMessage.sent_at.is_(None))
    assert db.session.execute(waiting).scalar_one() >= 1
    login(carol)
    client.post("/settings/delete", data={"confirm_username": "carol", "password": "password123"})
    assert db.session.execute(waiting).scalar_one() == 0


def test_staff_cannot_delete_themselves_and_moderators_delete_a_member_on_request_audited(client, make, login, db):
    mod, carol = make.user("mod", role="moderator"), make.user("carol")
    login(mod)
    assert client.post("/settings/delete", data={"confirm_username": "mod", "password": "password123"}).status_code == 403
    assert client.post("/moderation/users/carol/delete", data={"note": ""}).status_code == 400
    export = client.get("/moderation/users/carol/export")
    assert export.status_code == 200 and json.loads(export.get_data())["profile"]["username"] == "carol"
    r = client.post("/moderation/users/carol/delete", data={"note": "Support email of 3 May"})
    assert r.status_code == 302
    actions = db.session.execute(select(AuditEntry.action, AuditEntry.note, AuditEntry.actor_id)
                                 .where(AuditEntry.target_id == carol.id).order_by(AuditEntry.id)).all()
    assert [a for a, _, _ in actions] == ["user.export", "user.delete"]
    assert actions[1][1] == "on the member's request: Support email of 3 May" and actions[1][2] == mod.id
    assert client.post(f"/moderation/users/deleted-{carol.id}/delete", data={"note": "again"}).status_code == 403
    other_mod = make.user("mod2", role="moderator")
    assert client.post(f"/moderation/users/{other_mod.username}/delete", data={"note": "x"}).status_code == 403


def test_the_avatar_of_a_deleted_member_is_no_longer_served(client, make, login, db):
    import io

    from PIL import Image

    carol = make.user("carol")
    login(carol)
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 200)).save(out, format="PNG")
    client.post("/settings/avatar", data={"file": (io.BytesIO(out.getvalue()), "me.png")},
                content_type="multipart/form-data")
    db.session.refresh(carol)
    avatar = carol.avatar
    assert client.get(f"/uploads/{avatar}").status_code == 200
    client.post("/settings/delete", data={"confirm_username": "carol", "password": "password123"})
    assert client.get(f"/uploads/{avatar}").status_code == 404


def test_every_column_naming_a_member_is_exported_or_says_why_not(app):
    """A new table with a foreign key to ``users`` must join ``mydata.SOURCES`` or
    ``mydata.NOT_EXPORTED`` (with its reason): "everything stored about them" stays true."""
    from community.extensions import db as _db

    exported = {f"{col.property.columns[0].table.name}.{col.property.columns[0].name}"
                for _section, _model, col in mydata.SOURCES}
    naming = {f"{table.name}.{column.name}" for table in _db.metadata.sorted_tables for column in table.columns
              if any(fk.column.table.name == "users" for fk in column.foreign_keys)}
    assert naming - exported - set(mydata.NOT_EXPORTED) == set()
    assert set(mydata.NOT_EXPORTED) <= naming and not (exported & set(mydata.NOT_EXPORTED))
    assert all(reason.strip() for reason in mydata.NOT_EXPORTED.values())
