"""Every reputation rule and its exact reversal, the daily cap, the floor and recompute.

Totals are read from ``reputation_points`` (the ledger's running sum) so
that the floor at 1 does not hide a wrong delta; the floor has its own test.
"""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from community.models import ReputationEvent, User
from community.services.forum import accepting, reputation, threads, votes


def points(db, user) -> int:
    return db.session.get(User, user.id).reputation_points


def ledger_sum(db, user) -> int:
    return db.session.execute(
        select(func.coalesce(func.sum(ReputationEvent.points), 0)).where(ReputationEvent.user_id == user.id)
    ).scalar_one()


def vote(db, voter, post, value):
    score = votes.set_vote(voter, post, value)
    db.session.commit()
    return score


@pytest.fixture()
def scene(make, db):
    """An asker, an answerer, a voter, a thread with one answer."""
    asker, answerer, voter = make.user("asker"), make.user("answerer"), make.user("voter")
    thread = make.thread(author=asker)
    answer = make.reply(thread, author=answerer)
    question = db.session.get(type(answer), thread.question_post_id)
    return {"asker": asker, "answerer": answerer, "voter": voter, "thread": thread,
            "answer": answer, "question": question}


def test_question_upvote_gives_5_and_withdrawing_takes_it_back(db, scene):
    assert vote(db, scene["voter"], scene["question"], 1) == 1
    assert points(db, scene["asker"]) == 5
    assert scene["thread"].score == 1
    assert vote(db, scene["voter"], scene["question"], 0) == 0
    assert points(db, scene["asker"]) == 0
    assert scene["thread"].score == 0


def test_answer_upvote_gives_10(db, scene):
    vote(db, scene["voter"], scene["answer"], 1)
    assert points(db, scene["answerer"]) == 10
    assert points(db, scene["voter"]) == 0


def test_repeating_the_same_vote_changes_nothing(db, scene):
    vote(db, scene["voter"], scene["answer"], 1)
    rows = db.session.execute(select(func.count()).select_from(ReputationEvent)).scalar_one()
    assert vote(db, scene["voter"], scene["answer"], 1) == 1
    assert db.session.execute(select(func.count()).select_from(ReputationEvent)).scalar_one() == rows
    assert points(db, scene["answerer"]) == 10


def test_answer_downvote_costs_author_2_and_voter_1(db, scene):
    assert vote(db, scene["voter"], scene["answer"], -1) == -1
    assert points(db, scene["answerer"]) == -2
    assert points(db, scene["voter"]) == -1


def test_question_downvote_costs_author_2_and_voter_nothing(db, scene):
    vote(db, scene["voter"], scene["question"], -1)
    assert points(db, scene["asker"]) == -2
    assert points(db, scene["voter"]) == 0


def test_withdrawn_downvote_refunds_author_and_voter(db, scene):
    vote(db, scene["voter"], scene["answer"], -1)
    vote(db, scene["voter"], scene["answer"], 0)
    assert points(db, scene["answerer"]) == 0
    assert points(db, scene["voter"]) == 0


def test_switching_up_to_down_and_back_is_exact(db, scene):
    vote(db, scene["voter"], scene["answer"], 1)
    assert vote(db, scene["voter"], scene["answer"], -1) == -1
    assert points(db, scene["answerer"]) == -2
    assert points(db, scene["voter"]) == -1
    assert vote(db, scene["voter"], scene["answer"], 1) == 1
    assert points(db, scene["answerer"]) == 10
    assert points(db, scene["voter"]) == 0
    # every reversal cancels a row that was not reversed before
    reversed_ids = db.session.execute(select(ReputationEvent.reversal_of_id)
                                      .where(ReputationEvent.reversal_of_id.is_not(None))).scalars().all()
    assert len(reversed_ids) == len(set(reversed_ids)) == 3


def test_vote_value_must_be_1_minus_1_or_0(db, scene):
    from community.services.errors import ValidationError

    for bad in (2, -2, True, "1"):
        with pytest.raises(ValidationError):
            votes.set_vote(scene["voter"], scene["answer"], bad)


def test_accept_gives_15_to_answerer_and_2_to_asker(db, scene):
    accepting.accept(scene["asker"], scene["thread"], scene["answer"])
    db.session.commit()
    assert points(db, scene["answerer"]) == 15
    assert points(db, scene["asker"]) == 2
    assert scene["thread"].solved


def test_accepting_your_own_answer_earns_nothing(db, make, scene):
    own = make.reply(scene["thread"], author=scene["asker"])
    accepting.accept(scene["asker"], scene["thread"], own)
    db.session.commit()
    assert scene["thread"].accepted_post_id == own.id
    assert points(db, scene["asker"]) == 0
    assert db.session.execute(select(func.count()).select_from(ReputationEvent)).scalar_one() == 0


def test_moderator_accepting_on_behalf_credits_the_asker(db, make, scene):
    mod = make.user("mod", role="moderator")
    accepting.accept(mod, scene["thread"], scene["answer"])
    db.session.commit()
    assert points(db, scene["answerer"]) == 15
    assert points(db, scene["asker"]) == 2
    assert points(db, mod) == 0


def test_changing_the_accept_moves_exactly_the_points(db, make, scene):
    other = make.reply(scene["thread"], author=make.user("other"))
    accepting.accept(scene["asker"], scene["thread"], scene["answer"])
    db.session.commit()
    accepting.accept(scene["asker"], scene["thread"], other)
    db.session.commit()
    assert points(db, scene["answerer"]) == 0
    assert points(db, other.author) == 15
    assert points(db, scene["asker"]) == 2
    assert scene["thread"].accepted_post_id == other.id


def test_withdrawing_the_accept_reverses_it(db, scene):
    accepting.accept(scene["asker"], scene["thread"], scene["answer"])
    db.session.commit()
    accepting.accept(scene["asker"], scene["thread"], None)
    db.session.commit()
    assert points(db, scene["answerer"]) == 0
    assert points(db, scene["asker"]) == 0
    assert not scene["thread"].solved and scene["thread"].solved_at is None


def test_accepting_the_same_answer_twice_awards_once(db, scene):
    for _ in range(2):
        accepting.accept(scene["asker"], scene["thread"], scene["answer"])
        db.session.commit()
    assert points(db, scene["answerer"]) == 15


def test_deleting_an_answer_reverses_its_votes_and_accept(db, make, scene):
    downvoter = make.user("downvoter")
    vote(db, scene["voter"], scene["answer"], 1)
    vote(db, downvoter, scene["answer"], -1)
    accepting.accept(scene["asker"], scene["thread"], scene["answer"])
    db.session.commit()
    assert points(db, scene["answerer"]) == 10 - 2 + 15
    threads.delete_post(scene["answerer"], scene["answer"])
    db.session.commit()
    for who in ("answerer", "asker", "voter"):
        assert points(db, scene[who]) == 0, who
    assert points(db, downvoter) == 0
    assert scene["thread"].accepted_post_id is None
    assert scene["thread"].reply_count == 0


def test_deleting_the_question_reverses_everything_in_the_thread(db, scene):
    vote(db, scene["voter"], scene["question"], 1)
    vote(db, scene["voter"], scene["answer"], 1)
    accepting.accept(scene["asker"], scene["thread"], scene["answer"])
    db.session.commit()
    threads.delete_post(scene["asker"], scene["question"])
    db.session.commit()
    for who in ("answerer", "asker", "voter"):
        assert points(db, scene[who]) == 0, who
    assert scene["thread"].deleted


def _answers_by(make, author, n):
    category = make.category()
    posts = []
    for i in range(n):
        thread = make.thread(category=category, title=f"Question number {i} about the cap")
        posts.append(make.reply(thread, author=author))
    return posts


def test_daily_cap_of_200_and_exact_reversal_of_a_capped_vote(db, make):
    author = make.user("prolific")
    posts = _answers_by(make, author, 22)
    voters = [make.user(f"fan{i}") for i in range(22)]
    for voter, post in zip(voters, posts):
        vote(db, voter, post, 1)
    assert points(db, author) == 200
    capped = db.session.execute(select(ReputationEvent).where(
        ReputationEvent.vote_id.is_not(None), ReputationEvent.points == 0)).scalars().all()
    assert len(capped) == 2 and all(e.requested_points == 10 for e in capped)
    # withdrawing a vote whose points were capped away takes nothing
    vote(db, voters[21], posts[21], 0)
    assert points(db, author) == 200
    # withdrawing a full one takes exactly 10 and frees 10 under today's cap
    vote(db, voters[0], posts[0], 0)
    assert points(db, author) == 190
    vote(db, voters[0], posts[0], 1)
    assert points(db, author) == 200


def test_accepts_and_penalties_are_not_capped(db, make):
    author = make.user("capped")
    posts = _answers_by(make, author, 21)
    for i, post in enumerate(posts):
        vote(db, make.user(f"voter{i}"), post, 1)
    assert points(db, author) == 200
    accepting.accept(posts[0].thread.author, posts[0].thread, posts[0])
    db.session.commit()
    assert points(db, author) == 215
    vote(db, make.user("critic"), posts[1], -1)
    assert points(db, author) == 213


def test_the_cap_is_per_utc_day_and_reversals_keep_their_day(db, make, monkeypatch):
    author = make.user("daily")
    posts = _answers_by(make, author, 22)
    voters = [make.user(f"day{i}") for i in range(22)]
    day1 = datetime(2026, 3, 1, 12)
    monkeypatch.setattr(reputation, "utcnow", lambda: day1)
    for voter, post in zip(voters[:21], posts[:21]):
        vote(db, voter, post, 1)
    assert points(db, author) == 200
    monkeypatch.setattr(reputation, "utcnow", lambda: datetime(2026, 3, 2, 9))
    vote(db, voters[0], posts[0], 0)          # yesterday's vote withdrawn today
    assert points(db, author) == 190
    vote(db, voters[21], posts[21], 1)         # today's cap is untouched by it
    assert points(db, author) == 200
    reversal = db.session.execute(select(ReputationEvent).where(
        ReputationEvent.reversal_of_id.is_not(None))).scalar_one()
    assert str(reversal.cap_day) == "2026-03-01"
    # The cap's counter (what ``award`` reads): today's day and points, as the ledger gives them.
    db.session.refresh(author)
    assert (str(author.cap_day), author.cap_points) == ("2026-03-02", 10)
    assert reputation.cap_counter_drift() == []


def test_a_server_whose_clock_is_still_on_yesterday_caps_by_yesterday_s_rows(db, make, monkeypatch):
    """The counter is of the latest day; an award of an earlier day (another app server's clock
    behind, at midnight) reads that day's rows: the author had 200 that day, it grants nothing."""
    author = make.user("skewed")
    posts = _answers_by(make, author, 22)
    voters = [make.user(f"skew{i}") for i in range(22)]
    day1, day2 = datetime(2026, 3, 1, 23, 59), datetime(2026, 3, 2, 0, 1)
    monkeypatch.setattr(reputation, "utcnow", lambda: day1)
    for voter, post in zip(voters[:20], posts[:20]):
        vote(db, voter, post, 1)
    monkeypatch.setattr(reputation, "utcnow", lambda: day2)
    vote(db, voters[20], posts[20], 1)
    assert points(db, author) == 210
    monkeypatch.setattr(reputation, "utcnow", lambda: day1)
    vote(db, voters[21], posts[21], 1)
    assert points(db, author) == 210
    db.session.refresh(author)
    assert (str(author.cap_day), author.cap_points) == ("2026-03-02", 10)
    assert reputation.cap_counter_drift() == []


def test_reputation_never_shows_below_1(db, make, scene):
    for i in range(3):
        vote(db, make.user(f"down{i}"), scene["answer"], -1)
    user = db.session.get(User, scene["answerer"].id)
    assert user.reputation_points == -6
    assert user.reputation == 1
    assert reputation.rank_for(user.reputation) == "Newcomer"


def test_reputation_recompute_cli_rebuilds_totals_from_the_ledger(app, db, scene):
    vote(db, scene["voter"], scene["answer"], 1)
    accepting.accept(scene["asker"], scene["thread"], scene["answer"])
    db.session.commit()
    expected = {u: ledger_sum(db, scene[u]) for u in ("asker", "answerer", "voter")}
    for name in expected:
        db.session.get(User, scene[name].id).reputation_points = 999
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["reputation", "recompute"])
    assert result.exit_code == 0, result.output
    assert "3 user total(s) corrected" in result.output
    db.session.expire_all()
    assert {u: points(db, scene[u]) for u in expected} == expected == {"asker": 2, "answerer": 25, "voter": 0}


def test_ranks_follow_configured_thresholds(app):
    assert reputation.rank_for(1) == "Newcomer"
    assert reputation.rank_for(50) == "Contributor"
    assert reputation.rank_for(1000) == "Trusted"
    assert reputation.next_rank(60) == (200, "Regular")
    app.config["RANKS"] = [[1, "Rookie"], [10, "Pro"]]
    assert reputation.rank_for(12) == "Pro"
    assert reputation.next_rank(12) is None
