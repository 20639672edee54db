"""In-app notifications (reply, accepted, mention), revisions on edit, and profile pages."""
from __future__ import annotations

from sqlalchemy import select

from community.models import Notification, PostRevision
from community.services.forum import accepting, threads, votes


def inbox(db, user):
    return [(n.kind, n.message) for n in db.session.execute(
        select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)).scalars()]


def test_reply_notifies_the_asker_but_not_when_answering_yourself(db, make):
    asker = make.user("asker")
    thread = make.thread(author=asker, title="Export to CSV fails silently")
    helper = make.user("helper")
    post = make.reply(thread, author=helper)
    make.reply(thread, author=asker)
    assert inbox(db, asker) == [("reply", "helper answered “Export to CSV fails silently”")]
    # Answering watched the thread: the helper hears of the asker's post (docs/accounts.md).
    assert inbox(db, helper) == [("watching", "asker posted in “Export to CSV fails silently”")]
    note = db.session.execute(select(Notification).where(Notification.user_id == asker.id)).scalar_one()
    assert note.url == f"/threads/{thread.id}/{thread.slug}#post-{post.id}"
    assert note.thread_id == thread.id and note.post_id == post.id and note.actor_id == helper.id


def test_accept_notifies_the_answerer(db, make):
    asker, helper = make.user("asker"), make.user("helper")
    thread = make.thread(author=asker, title="Export to CSV fails silently")
    post = make.reply(thread, author=helper)
    accepting.accept(asker, thread, post)
    db.session.commit()
    assert ("accepted", "Your answer to “Export to CSV fails silently” was accepted") in inbox(db, helper)


def test_mentions_notify_once_each_and_never_the_author_or_code(db, make):
    asker, helper = make.user("asker"), make.user("helper")
    carol, dave = make.user("carol"), make.user("dave")
    thread = make.thread(author=asker, body="Maybe @Carol knows? @carol @nobody @asker `@dave`")
    assert inbox(db, carol) == [("mention", "asker mentioned you in “%s”" % thread.title)]
    assert inbox(db, dave) == [] and inbox(db, asker) == []
    make.reply(thread, author=helper, body="I agree with @carol, and @asker try this.")
    assert len(inbox(db, carol)) == 2
    assert [k for k, _ in inbox(db, asker)] == ["reply"]   # the reply notice covers the mention


def test_edit_notifies_only_newly_mentioned_people(db, make):
    author, carol, dave = make.user("author"), make.user("carol"), make.user("dave")
    thread = make.thread(author=author, body="Asking @carol about this problem here.")
    post = thread.posts[0]
    threads.edit_post(author, post, "Asking @carol and @dave about this problem here.")
    db.session.commit()
    assert len(inbox(db, carol)) == 1
    assert len(inbox(db, dave)) == 1


def test_notification_pages(client, db, make, login):
    asker = make.user("asker")
    thread = make.thread(author=asker)
    make.reply(thread)
    login(asker)
    home = client.get("/").get_data(as_text=True)
    assert 'class="badge">1<' in home
    page = client.get("/notifications").get_data(as_text=True)
    assert "answered" in page and 'class="unread"' in page
    note = db.session.execute(select(Notification)).scalar_one()
    assert f'<form method="post" action="/notifications/{note.id}"' in page
    r = client.post(f"/notifications/{note.id}")
    assert r.status_code == 302 and r.headers["Location"].endswith(note.url)
    db.session.refresh(note)
    assert note.read_at is not None
    assert 'class="badge"' not in client.get("/").get_data(as_text=True)


def test_opening_a_notification_by_get_changes_nothing(client, db, make, login):
    """Marking read is a state change: a GET (a prefetcher, an <img> on another page) must not do it."""
    asker = make.user("asker")
    make.reply(make.thread(author=asker))
    note = db.session.execute(select(Notification)).scalar_one()
    login(asker)
    assert client.get(f"/notifications/{note.id}").status_code == 405
    db.session.refresh(note)
    assert note.read_at is None


def test_the_inbox_form_carries_a_csrf_token_that_the_open_route_requires(tmp_path):
    from community import create_app
    from community.extensions import db as _db
    from community.services.accounts import users
    from community.services.forum import threads

    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "csrf-test",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'csrf.db'}",
                      "SEARCH_INDEX_DIR": str(tmp_path / "index"), "RATELIMIT_ENABLED": False,
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    with app.app_context():
        _db.create_all()
        asker, helper = (users.create_user(n, f"{n}@example.com", "password123") for n in ("asker", "helper"))
        thread = threads.create_thread(asker, threads.create_category("Billing", ""),
                                       "How do I change my billing email?", "I tried the settings page already.")
        threads.add_reply(helper, thread, "Open Billing, then Contacts.")
        _db.session.commit()
        note_id = _db.session.execute(select(Notification.id)).scalar_one()
        client = app.test_client()
        login_page = client.get("/login").get_data(as_text=True)
        token = login_page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        client.post("/login", data={"login": "asker", "password": "password123", "csrf_token": token})
        page = client.get("/notifications").get_data(as_text=True)
        form_token = page.split(f'action="/notifications/{note_id}"', 1)[1].split('value="', 1)[1].split('"', 1)[0]
        assert client.post(f"/notifications/{note_id}").status_code == 400      # no token: refused
        assert _db.session.get(Notification, note_id).read_at is None
        opened = client.post(f"/notifications/{note_id}", data={"csrf_token": form_token})
        assert opened.status_code == 302 and f"/threads/{thread.id}/" in opened.headers["Location"]
        _db.session.expire_all()
        assert _db.session.get(Notification, note_id).read_at is not None
        _db.session.remove()
        _db.engine.dispose()


def test_others_cannot_open_or_read_my_notifications(client, db, make, login):
    asker = make.user("asker")
    make.reply(make.thread(author=asker))
    note = db.session.execute(select(Notification)).scalar_one()
    login(make.user("snoop"))
    assert client.post(f"/notifications/{note.id}").headers["Location"].endswith("/notifications")
    client.post("/notifications/read", data={"id": note.id})
    db.session.refresh(note)
    assert note.read_at is None
    assert "answered" not in client.get("/notifications").get_data(as_text=True)


def test_mark_all_read(client, db, make, login):
    asker = make.user("asker")
    thread = make.thread(author=asker)
    make.reply(thread)
    make.reply(thread)
    login(asker)
    client.post("/notifications/read")
    mine = db.session.execute(select(Notification).where(Notification.user_id == asker.id)).scalars().all()
    assert len(mine) == 2 and all(n.read_at for n in mine)


def test_edits_keep_revisions_and_show_history(client, db, make, login):
    author = make.user("author")
    thread = make.thread(author=author, title="Original title of my question", tags=["old"])
    post = thread.posts[0]
    login(author)
    r = client.post(f"/posts/{post.id}/edit", data={"title": "Better title of my question", "tags": "new other",
                                                    "body": "Second version of the body text.", "reason": "typo"})
    assert r.status_code == 302
    client.post(f"/posts/{post.id}/edit", data={"title": "Better title of my question", "tags": "new other",
                                                "body": "Third version of the body text.", "reason": ""})
    revs = db.session.execute(select(PostRevision).order_by(PostRevision.id)).scalars().all()
    assert [(r.title, r.tags, r.body[:6]) for r in revs] == [
        ("Original title of my question", "old", "I trie"), ("Better title of my question", "new other", "Second")]
    assert revs[0].reason == "typo"
    history = client.get(f"/posts/{post.id}/revisions").get_data(as_text=True)
    assert "Third version" in history and "Second version" in history and "I tried" in history
    # the renamed thread's old slug redirects
    old = client.get(f"/threads/{thread.id}/original-title-of-my-question")
    assert old.status_code == 301 and old.headers["Location"].endswith("/better-title-of-my-question")
    # an edit that changes nothing keeps no revision
    client.post(f"/posts/{post.id}/edit", data={"title": "Better title of my question", "tags": "other new",
                                                "body": "Third version of the body text."})
    assert len(db.session.execute(select(PostRevision)).scalars().all()) == 2


def test_edit_errors_are_shown_on_the_form_and_change_nothing(client, db, make, login):
    author = make.user("author")
    thread = make.thread(author=author)
    post = thread.posts[0]
    login(author)
    r = client.post(f"/posts/{post.id}/edit", data={"title": "short", "tags": "", "body": "A fine new body text here."})
    assert r.status_code == 400
    assert "at least 10 characters" in r.get_data(as_text=True)
    db.session.refresh(post)
    assert post.body.startswith("I tried") and db.session.execute(select(PostRevision)).first() is None


def test_profile_shows_reputation_rank_counts_and_activity(client, db, make):
    asker, helper = make.user("asker"), make.user("helper")
    make.thread(author=helper, title="Helper's own question about sync")
    other = make.thread(author=asker, title="Asker's question about billing")
    answer = make.reply(other, author=helper, body="Answer from the helper with details.")
    for i in range(5):
        votes.set_vote(make.user(f"fan{i}"), answer, 1)
    accepting.accept(asker, other, answer)
    db.session.commit()
    html = client.get("/users/helper").get_data(as_text=True)
    assert '<strong class="rep-big">66</strong>' in html    # 1 + 5*10 + 15
    assert "<strong>Contributor</strong>" in html and "134 to Regular" in html
    assert "<strong>1</strong> question<" in html and "<strong>1</strong> answer<" in html
    assert "<strong>1</strong> accepted answer<" in html
    assert "Helper&#39;s own question about sync" in html
    assert "Answered <a" in html and "Asker&#39;s question about billing" in html
    assert "+15" in html and "answer accepted" in html and "+10" in html
    assert client.get("/users/nobody").status_code == 404
    assert "helper" in client.get("/users").get_data(as_text=True)


def test_profile_lists_privileges_by_reputation(client, db, make):
    make.user("newbie", reputation=20)      # reputation 21: upvote and flag, not downvote
    make.user("boss", role="moderator")
    html = client.get("/users/newbie").get_data(as_text=True)
    privileges = html.split('class="compact-list privileges"')[1].split("</ul>")[0]
    assert privileges.count('class="unlocked"') == 2 and privileges.count('class="locked"') == 2
    assert "Downvote" in privileges and "at 125" in privileges
    boss = client.get("/users/boss").get_data(as_text=True).split('class="compact-list privileges"')[1].split("</ul>")[0]
    assert boss.count('class="unlocked"') == 4 and "(by role)" in boss
