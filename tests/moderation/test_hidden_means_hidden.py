"""Hidden and deleted content stays out of reach: revisions, suggestion redirects, votes, counters."""
from __future__ import annotations

from datetime import timedelta

from community.models import Post, Thread, utcnow
from community.services.forum import threads
from community.services.maintenance import integrity
from community.services.moderation import actions


def _hidden_answer(db, make, author=None):
    mod = make.user("mod", role="moderator")
    thread = make.thread()
    answer = make.reply(thread, author=author, body="The first version of this answer, with a secret.")
    threads.edit_post(answer.author, answer, "The second version of this answer, still secret.")
    actions.hide_post(mod, answer, "Spam")
    db.session.commit()
    return mod, thread, answer


def test_revisions_of_a_hidden_post_are_for_staff_and_its_author_only(client, db, make, login):
    author = make.user("writer")
    mod, _thread, answer = _hidden_answer(db, make, author=author)
    url = f"/posts/{answer.id}/revisions"
    assert client.get(url).status_code == 404
    login(make.user("reader"))
    assert client.get(url).status_code == 404
    login(author)
    assert client.get(url).status_code == 200
    login(mod)
    page = client.get(url)
    assert page.status_code == 200 and b"first version" in page.data


def test_suggestion_redirect_refuses_hidden_and_deleted_threads(client, db, make):
    mod = make.user("mod", role="moderator")
    hidden, deleted, live = make.thread(), make.thread(), make.thread()
    actions.hide_thread(mod, hidden, "Off-topic")
    threads.delete_post(mod, db.session.get(Post, deleted.question_post_id))
    db.session.commit()
    for thread in (hidden, deleted):
        r = client.get(f"/ask/open/x/thread/{thread.id}")
        assert r.status_code == 404
        assert thread.slug not in r.get_data(as_text=True)
    r = client.get(f"/ask/open/x/thread/{live.id}")
    assert r.status_code == 302 and live.slug in r.headers["Location"]


def test_nobody_votes_on_a_hidden_post(client, db, make, login, token_for):
    mod, _thread, answer = _hidden_answer(db, make)
    voter = make.user("voter")
    assert client.post(f"/api/v1/posts/{answer.id}/vote", json={"value": 1},
                       headers=token_for(voter)).status_code == 404
    login(voter)
    assert client.post(f"/posts/{answer.id}/vote", data={"value": 1}).status_code == 404
    r = client.post(f"/api/v1/posts/{answer.id}/vote", json={"value": 1}, headers=token_for(mod))
    assert r.status_code == 403 and "hidden" in r.get_json()["error"]["message"]
    assert db.session.get(Post, answer.id).score == 0


def test_a_suspended_product_user_cannot_export_ideas(client, db, make, token_for):
    product = make.user("pmuser", role="product")
    headers = token_for(product)
    assert client.get("/api/v1/ideas/export.csv", headers=headers).status_code == 200
    product.suspended_until = utcnow() + timedelta(days=3)
    db.session.commit()
    r = client.get("/api/v1/ideas/export.csv", headers=headers)
    assert r.status_code == 403 and r.get_json()["error"]["message"] == "Your account is suspended."


def test_hiding_then_deleting_an_answer_counts_it_out_once(db, make):
    mod, thread, answer = _hidden_answer(db, make)
    other = make.reply(thread)
    assert db.session.get(Thread, thread.id).reply_count == 1
    threads.delete_post(answer.author, answer)
    threads.delete_post(answer.author, answer)   # a second (concurrent) delete changes nothing
    db.session.commit()
    assert db.session.get(Thread, thread.id).reply_count == 1
    actions.restore_post(mod, answer)            # restoring a deleted answer does not count it back
    threads.delete_post(other.author, other)
    db.session.commit()
    assert db.session.get(Thread, thread.id).reply_count == 0
    assert integrity.find_drift() == []
