"""``flask check``: each invariant broken on purpose is reported, ``--fix`` repairs what is derivable."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text, update

from community.models import Idea, Post, ReputationEvent, Thread, User, Vote
from community.services.forum import accepting, reputation, votes
from community.services.ideas import exchange
from community.services.maintenance import integrity


def run(app, *args):
    return app.test_cli_runner().invoke(args=["check", *args])


@pytest.fixture()
def site(db, make):
    """A thread with votes up and down, an accepted answer, an idea with votes and a comment."""
    asker, answerer, voter, other = (make.user(n) for n in ("asker", "answerer", "voter", "other"))
    thread = make.thread(author=asker)
    answer, second = make.reply(thread, author=answerer), make.reply(thread, author=other)
    question = db.session.get(Post, thread.question_post_id)
    votes.set_vote(voter, answer, 1)
    votes.set_vote(voter, question, 1)
    votes.set_vote(voter, second, -1)
    accepting.accept(asker, thread, answer)
    idea = exchange.create_idea(asker, thread.category, "Offline mode for the mobile app",
                                "Let me read my notes without a connection, please.")
    exchange.set_vote(voter, idea, 1)
    exchange.add_comment(other, idea, "Yes, on the train especially.")
    db.session.commit()
    return {"thread": thread, "answer": answer, "second": second, "question": question,
            "voter": voter, "answerer": answerer, "idea": idea}


def checks(found) -> set[tuple[str, str]]:
    return {(d.check, d.subject) for d in found}


def test_a_consistent_site_has_no_drift(app, site):
    result = run(app)
    assert result.exit_code == 0, result.output
    assert "No drift" in result.output


def _break_counters(db, site):
    db.session.execute(update(Post).where(Post.id == site["answer"].id).values(score=Post.score + 3))
    db.session.execute(update(Thread).where(Thread.id == site["thread"].id).values(score=7, reply_count=-1))
    db.session.execute(update(Idea).where(Idea.id == site["idea"].id).values(vote_count=9, comment_count=0))
    db.session.execute(update(User).where(User.id == site["voter"].id).values(reputation_points=999))
    db.session.commit()


def test_broken_counters_are_reported_then_fixed(app, db, site):
    _break_counters(db, site)
    t, a, i, v = site["thread"].id, site["answer"].id, site["idea"].id, site["voter"].id
    result = run(app)
    assert result.exit_code == 1
    assert checks(integrity.find_drift()) == {
        ("post_score", f"post:{a}"), ("thread_score", f"thread:{t}"), ("reply_count", f"thread:{t}"),
        ("idea_votes", f"idea:{i}"), ("idea_comments", f"idea:{i}"), ("reputation", f"user:{v}")}
    assert "reply_count    thread:" in result.output and "expected 2, found -1" in result.output
    fixed = run(app, "--fix")
    assert fixed.exit_code == 0, fixed.output
    assert "Repaired 6; 0 remain." in fixed.output
    db.session.expire_all()
    assert db.session.get(Post, a).score == 1
    assert db.session.get(Thread, t).score == 1 and db.session.get(Thread, t).reply_count == 2
    assert (db.session.get(Idea, i).vote_count, db.session.get(Idea, i).comment_count) == (2, 1)
    assert db.session.get(User, v).reputation_points == -1   # the downvote on an answer cost 1
    assert run(app).exit_code == 0


def _duplicate(db, event: ReputationEvent) -> None:
    """A second open copy of a ledger row, with the total bumped as the race did."""
    columns = ("user_id", "points", "requested_points", "reason", "actor_id", "post_id", "thread_id",
               "vote_id", "cap_day")
    db.session.add(ReputationEvent(**{c: getattr(event, c) for c in columns}))
    db.session.execute(update(User).where(User.id == event.user_id)
                       .values(reputation_points=User.reputation_points + event.points))


def test_duplicate_vote_and_accept_rows_are_reversed(app, db, site):
    answer, answerer = site["answer"], site["answerer"]
    upvote = db.session.execute(select(ReputationEvent).where(
        ReputationEvent.reason == "answer_upvoted", ReputationEvent.post_id == answer.id)).scalar_one()
    accepted = db.session.execute(select(ReputationEvent).where(
        ReputationEvent.reason == "answer_accepted", ReputationEvent.post_id == answer.id)).scalar_one()
    _duplicate(db, upvote)
    _duplicate(db, upvote)
    _duplicate(db, accepted)
    db.session.commit()
    assert db.session.get(User, answerer.id).reputation_points == 25 + 20 + 15
    found = checks(integrity.find_drift())
    assert ("vote_ledger", f"vote:{upvote.vote_id}") in found
    assert ("accept_ledger", f"post:{answer.id}") in found
    assert ("reputation", f"user:{answerer.id}") not in found   # the totals follow the (wrong) ledger
    assert run(app, "--fix").exit_code == 0
    db.session.expire_all()
    assert db.session.get(User, answerer.id).reputation_points == 25
    assert len(reputation.open_events(ReputationEvent.vote_id == upvote.vote_id)) == 1
    assert integrity.find_drift() == []


def test_accept_rows_for_an_answer_that_is_not_accepted_are_reversed(app, db, site):
    second = site["second"]
    reputation.award(second.author_id, "answer_accepted", post_id=second.id, thread_id=second.thread_id)
    db.session.commit()
    assert checks(integrity.find_drift()) == {("accept_ledger", f"post:{second.id}")}
    assert run(app, "--fix").exit_code == 0
    assert integrity.find_drift() == []


def test_a_wrong_daily_cap_counter_is_reported_and_rebuilt_from_the_ledger(app, db, make, site):
    """The counter ``award`` reads instead of the day's rows: set full by hand, an upvote grants
    nothing; reported, rebuilt from the ledger (today's +10 of the voter's upvote), the next
    upvote grants its 10 again."""
    answerer, cap = site["answerer"], app.config["REPUTATION_DAILY_CAP"]
    day = db.session.get(User, answerer.id).cap_day
    db.session.execute(update(User).where(User.id == answerer.id).values(cap_points=cap))
    db.session.commit()
    votes.set_vote(make.user("fan1"), site["answer"], 1)
    db.session.commit()
    assert db.session.get(User, answerer.id).reputation_points == 10 + 15   # the fan's upvote: 0
    found = integrity.find_drift()
    assert [(d.check, d.subject, d.expected, d.actual) for d in found] == [
        ("cap_counter", f"user:{answerer.id}", (day, 10), (day, cap))]
    fixed = run(app, "--fix")
    assert fixed.exit_code == 0 and "Repaired 1; 0 remain." in fixed.output, fixed.output
    db.session.expire_all()
    assert (db.session.get(User, answerer.id).cap_day, db.session.get(User, answerer.id).cap_points) == (day, 10)
    votes.set_vote(make.user("fan2"), site["answer"], 1)
    db.session.commit()
    assert db.session.get(User, answerer.id).reputation_points == 10 + 15 + 10


def test_a_missing_vote_row_and_a_day_over_the_cap_are_reported_not_invented(app, db, site):
    vote = db.session.execute(select(Vote).where(Vote.post_id == site["question"].id)).scalar_one()
    reputation.reverse_where(ReputationEvent.vote_id == vote.id)
    reputation.award(site["answerer"].id, "answer_upvoted", points=app.config["REPUTATION_DAILY_CAP"])
    # a row written past the cap, as two racing awards did
    db.session.execute(text("UPDATE reputation_events SET points = requested_points"))
    db.session.commit()
    found = integrity.find_drift()
    assert ("vote_ledger", f"vote:{vote.id}") in checks(found)
    assert ("daily_cap", f"user:{site['answerer'].id}") in checks(found)
    assert not any(d.fixable for d in found if d.check in ("daily_cap",))
    result = run(app, "--fix")
    assert result.exit_code == 1
    assert "not derivable" in result.output and "still: daily_cap" in result.output


def test_idea_vote_rows_one_per_standing_vote(app, db, site):
    """A doubled ``idea_upvoted`` row is reversed by --fix; a vote whose row is gone is reported."""
    idea, voter = site["idea"], site["voter"]
    row = db.session.execute(select(ReputationEvent).where(
        ReputationEvent.reason == "idea_upvoted", ReputationEvent.source == f"idea:{idea.id}")).scalar_one()
    reputation.award(row.user_id, "idea_upvoted", actor_id=voter.id, source=row.source)   # the race's copy
    db.session.commit()
    subject = f"idea:{idea.id}/user:{voter.id}"
    assert checks(integrity.find_drift()) == {("idea_vote_ledger", subject)}
    assert run(app, "--fix").exit_code == 0
    assert integrity.find_drift() == []
    assert len(reputation.open_events(ReputationEvent.reason == "idea_upvoted")) == 1

    for event in reputation.open_events(ReputationEvent.reason == "idea_upvoted"):
        reputation.reverse(event)       # the vote stands, its row is undone: not derivable
    db.session.commit()
    drift = integrity.find_drift()
    assert [(d.check, d.subject, d.fixable) for d in drift] == [("idea_vote_ledger", subject, False)]
    exchange.set_vote(voter, idea, 0)   # withdrawing the vote makes the ledger right again
    db.session.commit()
    assert integrity.find_drift() == []


def test_a_search_index_missing_documents_or_keeping_extra_ones_is_reported_then_rebuilt(app, db, make, site):
    from community import search

    with search.paused():  # written while indexing was lost
        missed = make.thread(title="Where do I change the billing address?")
    assert integrity.find_drift() == []  # the rows agree; the index does not
    assert checks(integrity.search_drift()) == {("search_index", f"thread:{missed.id}")}
    result = run(app)
    assert result.exit_code == 1 and f"search_index   thread:{missed.id}" in result.output, result.output
    assert "expected in the index, found missing" in result.output
    fixed = run(app, "--fix")
    assert fixed.exit_code == 0, fixed.output
    assert "Repaired 1; 0 remain." in fixed.output
    assert search.count() == search.total() and integrity.search_drift() == []
    assert [hit["title"] for hit in search.suggest("billing address")][:1] == ["Where do I change the billing address?"]

    doomed = make.thread(title="A question deleted behind the app's back")
    doomed_title, doomed_key = doomed.title, f"thread:{doomed.id}"
    assert doomed_title in [hit["title"] for hit in search.suggest("question deleted behind the back")]
    db.session.execute(text("DELETE FROM posts WHERE thread_id = :t"), {"t": doomed.id})
    db.session.execute(text("UPDATE threads SET question_post_id = NULL WHERE id = :t"), {"t": doomed.id})
    db.session.execute(text("DELETE FROM threads WHERE id = :t"), {"t": doomed.id})
    db.session.commit()
    assert checks(integrity.search_drift()) == {("search_index", doomed_key)}
    assert run(app, "--fix").exit_code == 0
    assert integrity.search_drift() == []
    assert doomed_title not in [hit["title"] for hit in search.suggest("question deleted behind the back")]


def test_an_index_with_the_right_count_but_the_wrong_documents_or_old_versions_is_reported(app, db, make, site):
    """Counting documents misses one lost and another kept (same count), and a document whose
    row changed behind the listeners (SQL that bypassed the ORM): each is named and repaired."""
    from community import search

    with search.paused():
        lost = make.thread(title="Tablet will not charge past eighty percent")
    kept = make.thread(title="Old question removed outside the app")
    db.session.execute(text("UPDATE threads SET hidden = :h WHERE id = :t"), {"h": True, "t": kept.id})
    renamed = site["thread"]
    db.session.execute(text("UPDATE threads SET title = 'Renamed by hand in SQL' WHERE id = :t"), {"t": renamed.id})
    db.session.commit()
    assert search.count() == search.total()  # the count alone sees nothing
    found = {(d.subject, d.actual) for d in integrity.search_drift()}
    assert found == {(f"thread:{lost.id}", "missing"), (f"thread:{kept.id}", "still there"),
                     (f"thread:{renamed.id}", "stale title")}, found
    result = run(app)
    assert result.exit_code == 1 and "stale title" in result.output, result.output
    fixed = run(app, "--fix")
    assert "Repaired 3; 0 remain." in fixed.output and fixed.exit_code == 0, fixed.output
    assert integrity.search_drift() == []
    assert [hit["title"] for hit in search.suggest("renamed by hand")][:1] == ["Renamed by hand in SQL"]
    assert all(hit["id"] != kept.id for hit in search.suggest("old question removed outside"))
