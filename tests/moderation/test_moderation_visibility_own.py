"""A hidden thread stays readable to its author, question included, marked hidden."""
from community.services.moderation import actions


def test_author_sees_own_hidden_question_but_other_members_do_not(app, db, client, make, login):
    author = make.user()
    thread = make.thread(author=author, title="My router drops the connection every hour")
    actions.hide_thread(make.user(role="moderator"), thread, "Looks like spam")
    db.session.commit()

    login(author)
    page = client.get(f"/threads/{thread.id}/{thread.slug}")
    assert page.status_code == 200
    assert b"I tried the settings page" in page.data and b"Hidden" in page.data

    login(make.user())
    assert client.get(f"/threads/{thread.id}/{thread.slug}").status_code == 404
