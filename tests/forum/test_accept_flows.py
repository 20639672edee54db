"""Accepting through the pages: author, moderator on behalf, others refused, change, withdraw, solved lists."""
from __future__ import annotations


def accept(client, thread, post_id):
    return client.post(f"/threads/{thread.id}/accept", data={"post_id": post_id if post_id else ""})


def test_author_accepts_changes_and_withdraws(client, db, make, login):
    asker = make.user("asker")
    thread = make.thread(author=asker)
    first, second = make.reply(thread), make.reply(thread)
    login(asker)
    assert accept(client, thread, first.id).status_code == 302
    db.session.refresh(thread)
    assert thread.accepted_post_id == first.id and thread.solved_at is not None
    page = client.get(f"/threads/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert "✓ Accepted answer" in page and "Withdraw accept" in page
    accept(client, thread, second.id)
    db.session.refresh(thread)
    assert thread.accepted_post_id == second.id
    accept(client, thread, None)
    db.session.refresh(thread)
    assert thread.accepted_post_id is None and thread.solved_at is None


def test_moderator_accepts_on_behalf_and_sees_the_button(client, db, make, login):
    thread = make.thread()
    answer = make.reply(thread)
    mod = make.user("mod", role="moderator")
    login(mod)
    assert "Accept this answer" in client.get(f"/threads/{thread.id}/{thread.slug}").get_data(as_text=True)
    accept(client, thread, answer.id)
    db.session.refresh(thread)
    assert thread.accepted_post_id == answer.id


def test_others_do_not_see_the_button_and_are_refused(client, db, make, login):
    thread = make.thread()
    answer = make.reply(thread)
    login(answer.author)
    assert "Accept this answer" not in client.get(f"/threads/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert accept(client, thread, answer.id).status_code == 403
    db.session.refresh(thread)
    assert thread.accepted_post_id is None


def test_accepting_a_post_from_another_thread_or_the_question_is_refused(client, db, make, login):
    asker = make.user("asker")
    thread = make.thread(author=asker)
    foreign = make.reply(make.thread())
    login(asker)
    assert accept(client, thread, foreign.id).status_code == 400
    assert accept(client, thread, thread.question_post_id).status_code == 400
    assert accept(client, thread, 99999).status_code == 404
    db.session.refresh(thread)
    assert thread.accepted_post_id is None


def test_solved_is_shown_and_filterable_in_every_list(client, db, make, login):
    category = make.category("Billing")
    asker = make.user("asker")
    solved = make.thread(author=asker, category=category, title="Solved: invoices are missing", tags=["invoice"])
    open_ = make.thread(author=asker, category=category, title="Open: refunds take forever", tags=["invoice"])
    answer = make.reply(solved)
    login(asker)
    accept(client, solved, answer.id)
    for url in (f"/categories/{category.slug}", "/tags/invoice"):
        everything = client.get(url).get_data(as_text=True)
        assert "✓ Solved" in everything
        only_solved = client.get(url + "?sort=solved").get_data(as_text=True)
        assert solved.title in only_solved and open_.title not in only_solved
        unsolved = client.get(url + "?sort=unsolved").get_data(as_text=True)
        assert open_.title in unsolved and solved.title not in unsolved
    assert "✓ Solved" in client.get("/").get_data(as_text=True)
    assert "✓" in client.get(f"/users/{asker.username}").get_data(as_text=True)


def test_a_moderator_accepting_their_own_answer_earns_nothing(db, make):
    from community.services.forum import accepting

    asker = make.user("asker")
    mod = make.user("mod", role="moderator")
    thread = make.thread(author=asker)
    answer = make.reply(thread, author=mod)
    accepting.accept(mod, thread, answer)
    db.session.commit()
    assert thread.solved
    assert db.session.get(type(mod), mod.id).reputation_points == 0
    assert db.session.get(type(asker), asker.id).reputation_points == 0
