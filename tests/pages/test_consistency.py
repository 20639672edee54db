"""Small things people notice: plurals, explanations beside staff actions."""
from __future__ import annotations

from community.extensions import db
from community.models import utcnow
from community.services.forum import accepting


def test_unresolved_queue_says_1_vote_and_1_answer(client, login, make, app):
    from datetime import timedelta

    thread = make.thread(title="A question that waits for an accept")
    make.reply(thread)
    thread.score = 1
    thread.created_at = utcnow() - timedelta(days=30)
    db.session.commit()
    login(make.user("moddy", role="moderator"))
    html = client.get("/tickets/unresolved").get_data(as_text=True)
    assert "A question that waits for an accept" in html
    assert "<strong>1</strong> vote<" in html and "<strong>1</strong> answer<" in html
    assert "1</strong> votes" not in html and "1</strong> answers" not in html


def test_escalating_a_solved_thread_is_explained(client, login, make):
    asker = make.user("askr")
    thread = make.thread(asker)
    accepting.accept(asker, thread, make.reply(thread))
    db.session.commit()
    login(make.user("moddy2", role="moderator"))
    html = client.get(f"/threads/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert "This thread is solved: the asker accepted an answer." in html
