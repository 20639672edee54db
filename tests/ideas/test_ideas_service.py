"""Idea services: voting, workflow, merging (incl. chains), notifications, reputation, lists, CSV."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from community.models import (
    AuditEntry,
    Idea,
    IdeaFollow,
    IdeaStatusChange,
    IdeaVote,
    Notification,
    ReputationEvent,
    utcnow,
)
from community.services.errors import Conflict, ValidationError
from community.services.ideas import exchange, lists, merging
from community.services.ideas import history as ideas_history


def new_idea(make, db, author=None, category=None, title=None, at=None, tags=None):
    make.n += 1
    idea = exchange.create_idea(author or make.user(), category or make.category(),
                             title or f"Please add export option number {make.n}",
                             "It would save our team a lot of time every single week.", tags, created_at=at)
    db.session.commit()
    return idea


def vote(db, user, idea, value=1, at=None):
    count = exchange.set_vote(user, idea, value, at=at)
    db.session.commit()
    return count


def voter_rows(db, idea):
    return db.session.execute(select(func.count()).select_from(IdeaVote).where(IdeaVote.idea_id == idea.id)).scalar_one()


def ledger(db, user, reason=None):
    stmt = select(func.coalesce(func.sum(ReputationEvent.points), 0)).where(ReputationEvent.user_id == user.id)
    if reason:
        stmt = stmt.where(ReputationEvent.reason == reason)
    return db.session.execute(stmt).scalar_one()


# -- voting --------------------------------------------------------------------

def test_author_vote_counted_and_follows(make, db):
    author = make.user()
    idea = new_idea(make, db, author=author)
    assert idea.vote_count == 1 and voter_rows(db, idea) == 1
    assert exchange.has_voted(author, idea) and exchange.is_following(author, idea)
    assert ledger(db, author) == 0  # no reputation for one's own vote


def test_vote_is_idempotent_and_withdraw_reverses(make, db):
    author, voter = make.user(), make.user()
    idea = new_idea(make, db, author=author)
    assert vote(db, voter, idea) == 2
    assert vote(db, voter, idea) == 2          # again: still one vote
    assert ledger(db, author, "idea_upvoted") == 1
    rows = db.session.execute(select(ReputationEvent).where(ReputationEvent.user_id == author.id)).scalars().all()
    assert [(r.reason, r.points, r.source, r.actor_id) for r in rows] == [("idea_upvoted", 1, f"idea:{idea.id}", voter.id)]
    assert vote(db, voter, idea, 0) == 1
    assert vote(db, voter, idea, 0) == 1       # withdrawing twice changes nothing
    assert ledger(db, author, "idea_upvoted") == 0
    assert voter_rows(db, idea) == 1 == db.session.get(Idea, idea.id).vote_count


def test_toggle_vote(make, db):
    idea, voter = new_idea(make, db), make.user()
    assert exchange.toggle_vote(voter, idea) == (2, True)
    assert exchange.toggle_vote(voter, idea) == (1, False)


@pytest.mark.parametrize("value", [2, -1, True, "1", None])
def test_vote_rejects_bad_values(make, db, value):
    idea = new_idea(make, db)
    with pytest.raises(ValidationError) as exc:
        exchange.set_vote(make.user(), idea, value)
    assert exc.value.field == "value"


def test_idea_vote_reputation_counts_toward_daily_cap(app, make, db):
    app.config["REPUTATION_DAILY_CAP"] = 2
    author = make.user()
    idea = new_idea(make, db, author=author)
    for _ in range(4):
        vote(db, make.user(), idea)
    assert db.session.get(Idea, idea.id).vote_count == 5
    assert ledger(db, author) == 2


def test_closed_ideas_refuse_votes(make, db):
    product = make.user(role="product")
    idea = new_idea(make, db)
    exchange.change_status(product, idea, "declined", "Not something we will build, sorry.")
    db.session.commit()
    with pytest.raises(Conflict):
        exchange.set_vote(make.user(), idea, 1)


# -- workflow -------------------------------------------------------------------

def test_workflow_with_history_notifications_and_delivered_bonus(make, db):
    author, voter, follower, product = make.user(), make.user(), make.user(), make.user(role="product")
    idea = new_idea(make, db, author=author)
    vote(db, voter, idea)
    exchange.follow(follower, idea)
    exchange.unfollow(voter, idea)  # a voter who unfollows still hears about status changes
    db.session.commit()
    steps = [("under_review", "We are looking into it."), ("planned", "Planned for **next quarter**."),
             ("planned", "Update: design is done."), ("in_progress", "Being built now."),
             ("delivered", "Shipped in 4.2, enjoy!")]
    for status, text in steps:
        exchange.change_status(product, idea, status, text)
        db.session.commit()
    history = exchange.history(idea)
    assert [(h.old_status, h.new_status) for h in history] == [
        ("new", "under_review"), ("under_review", "planned"), ("planned", "planned"),
        ("planned", "in_progress"), ("in_progress", "delivered")]
    assert history[1].response_html == "<p>Planned for <strong>next quarter</strong>.</p>"
    assert idea.status == "delivered" and idea.response == "Shipped in 4.2, enjoy!"
    assert idea.response_by_id == product.id
    notes = db.session.execute(select(Notification).where(Notification.kind == "idea_status")).scalars().all()
    by_user = {}
    for n in notes:
        by_user.setdefault(n.user_id, []).append(n.message)
    assert set(by_user) == {author.id, voter.id, follower.id}
    assert all(len(m) == 5 for m in by_user.values())
    assert by_user[voter.id][-1].endswith("is now delivered")
    assert by_user[voter.id][2].startswith("Official response on")
    assert ledger(db, author, "idea_delivered") == 25
    # Reopening reverses the bonus; delivering again awards it again (once).
    exchange.change_status(product, idea, "in_progress", "Regression found, reopening.")
    assert ledger(db, author, "idea_delivered") == 0
    exchange.change_status(product, idea, "delivered", "Fixed for good.")
    db.session.commit()
    assert ledger(db, author, "idea_delivered") == 25
    audits = db.session.execute(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "idea.status")).scalar_one()
    assert audits == 7


def test_no_delivered_bonus_for_delivering_own_idea(make, db):
    product = make.user(role="product")
    idea = new_idea(make, db, author=product)
    exchange.change_status(product, idea, "delivered", "We built our own idea.")
    assert ledger(db, product) == 0


@pytest.mark.parametrize("status,response,error,field", [
    ("duplicate", "Looks like another one.", ValidationError, "status"),
    ("nonsense", "Some response here.", ValidationError, "status"),
    ("new", "Back to new please.", Conflict, "status"),
    ("planned", "", ValidationError, "response"),
    ("planned", "short", ValidationError, "response"),
])
def test_status_change_validation(make, db, status, response, error, field):
    idea = new_idea(make, db)
    product = make.user(role="product")
    exchange.change_status(product, idea, "under_review", "Looking at it now.")
    with pytest.raises(error) as exc:
        exchange.change_status(product, idea, status, response)
    assert exc.value.field == field


def test_terminal_statuses_only_reopen_one_way(make, db):
    product = make.user(role="product")
    idea = new_idea(make, db)
    exchange.change_status(product, idea, "declined", "We will not do this.")
    with pytest.raises(Conflict):
        exchange.change_status(product, idea, "planned", "Changed our mind.")
    exchange.change_status(product, idea, "under_review", "Reconsidering after feedback.")
    assert idea.status == "under_review"
    assert exchange.allowed_statuses(idea)[0] == "under_review"


# -- merging --------------------------------------------------------------------

def test_merge_moves_voters_once_and_followers(make, db):
    product = make.user(role="product")
    a_author, b_author = make.user(), make.user()
    a = new_idea(make, db, author=a_author)
    b = new_idea(make, db, author=b_author)
    both, only_a, only_b, follower = make.user(), make.user(), make.user(), make.user()
    old = utcnow() - timedelta(days=20)
    vote(db, both, a, at=old)
    vote(db, both, b)
    vote(db, only_a, a, at=old)
    vote(db, only_b, b)
    exchange.follow(follower, a)
    db.session.commit()
    assert (a.vote_count, b.vote_count) == (3, 3)
    target = merging.merge(product, a, b)
    db.session.commit()
    assert target.id == b.id
    # b: b_author, both, only_b + a_author, only_a  (both counted once)
    assert b.vote_count == 5 == voter_rows(db, b)
    assert a.vote_count == 0 == voter_rows(db, a)
    assert a.status == "duplicate" and a.merged_into_id == b.id
    moved = db.session.execute(select(IdeaVote).where(IdeaVote.idea_id == b.id, IdeaVote.user_id == only_a.id)).scalar_one()
    assert moved.merged_from_id == a.id and abs((moved.created_at - old).total_seconds()) < 1
    followers = set(db.session.execute(select(IdeaFollow.user_id).where(IdeaFollow.idea_id == b.id)).scalars())
    assert {follower.id, a_author.id, only_a.id, both.id} <= followers
    assert not db.session.execute(select(IdeaFollow).where(IdeaFollow.idea_id == a.id)).first()
    change = db.session.execute(select(IdeaStatusChange).where(IdeaStatusChange.idea_id == a.id)).scalar_one()
    assert (change.old_status, change.new_status, change.merged_into_id) == ("new", "duplicate", b.id)
    assert f"#{b.id}" in change.response
    # Reputation followed the votes: a's author lost theirs, b's author got one per new voter.
    assert ledger(db, a_author, "idea_upvoted") == 0
    assert ledger(db, b_author, "idea_upvoted") == 4  # both, only_b, a_author, only_a
    # Moved voters were told where their vote went.
    told = set(db.session.execute(select(Notification.user_id).where(Notification.kind == "idea_status")).scalars())
    assert {only_a.id, a_author.id, follower.id} <= told


def test_merge_chain_keeps_every_voter_exactly_once(make, db):
    product = make.user(role="product")
    people = [make.user() for _ in range(6)]
    a, b, c = (new_idea(make, db, author=people[i]) for i in range(3))
    for voter in people[3:]:
        vote(db, voter, a)
    vote(db, people[3], b)
    vote(db, people[4], c)
    vote(db, people[0], c)      # a's author also voted for c
    merging.merge(product, a, b)
    db.session.commit()
    merging.merge(product, b, c)
    db.session.commit()
    assert c.vote_count == 6 == voter_rows(db, c)
    voters = db.session.execute(select(IdeaVote.user_id).where(IdeaVote.idea_id == c.id)).scalars().all()
    assert sorted(voters) == sorted(p.id for p in people)
    assert ideas_history.final_target(a).id == c.id
    total = db.session.execute(select(func.sum(Idea.vote_count))).scalar_one()
    assert total == db.session.execute(select(func.count()).select_from(IdeaVote)).scalar_one() == 6


def test_merge_refusals(make, db):
    product = make.user(role="product")
    a, b, c = new_idea(make, db), new_idea(make, db), new_idea(make, db)
    with pytest.raises(ValidationError):
        merging.merge(product, a, a)
    merging.merge(product, a, b)
    db.session.commit()
    with pytest.raises(Conflict) as exc:
        merging.merge(product, a, c)            # a is already merged
    assert f"#{b.id}" in exc.value.message
    db.session.rollback()
    with pytest.raises(Conflict) as exc:
        merging.merge(product, c, a)            # a was merged elsewhere: name the end of the chain
    assert f"#{b.id}" in exc.value.message
    db.session.rollback()
    with pytest.raises(Conflict):
        exchange.set_vote(make.user(), a, 1)     # duplicates take no votes
    with pytest.raises(Conflict):
        exchange.change_status(product, a, "planned", "Planned after all.")


def test_parse_idea_ref():
    assert merging.parse_idea_ref("#12") == 12
    assert merging.parse_idea_ref("http://x/ideas/7/slug") == 7
    assert merging.parse_idea_ref(" 5 ") == 5
    with pytest.raises(ValidationError):
        merging.parse_idea_ref("nothing")


# -- lists ----------------------------------------------------------------------

def test_sorts_with_controlled_timestamps(make, db):
    now = utcnow()
    cat = make.category()
    old_popular = new_idea(make, db, category=cat, title="Old but popular request here", at=now - timedelta(days=60))
    for _ in range(4):
        vote(db, make.user(), old_popular, at=now - timedelta(days=59))
    hot = new_idea(make, db, category=cat, title="Hot new request of this week", at=now - timedelta(days=2))
    for _ in range(2):
        vote(db, make.user(), hot, at=now - timedelta(hours=5))
    quiet = new_idea(make, db, category=cat, title="Quiet request nobody votes on", at=now - timedelta(days=10))
    exchange.add_comment(make.user(), quiet, "A fresh comment bumps it.", at=now - timedelta(minutes=1))
    db.session.commit()

    def order(sort, **kw):
        return [i.id for i in db.session.execute(lists.ideas(sort=sort, now=now, **kw)).scalars()]

    assert order("top") == [old_popular.id, hot.id, quiet.id]           # 5, 3, 1 votes
    assert order("trending") == [hot.id, quiet.id, old_popular.id]
    assert order("new") == [hot.id, quiet.id, old_popular.id]
    assert order("updated") == [quiet.id, hot.id, old_popular.id]
    scores = lists.trending_map([hot.id, old_popular.id, quiet.id], now=now)
    # hot: author vote 2 days ago + 2 votes 5 hours ago
    assert scores[hot.id] == pytest.approx(0.5 ** (2 / 7) + 2 * 0.5 ** (5 / 24 / 7), rel=1e-4)
    assert scores[old_popular.id] == pytest.approx(0.5 ** (59 / 7) * 4 + 0.5 ** (60 / 7), rel=1e-4)


def test_filters_by_status_category_and_tag(make, db):
    product = make.user(role="product")
    c1, c2 = make.category(), make.category()
    a = new_idea(make, db, category=c1, tags=["mobile"])
    b = new_idea(make, db, category=c2, tags=["mobile", "sync"])
    c = new_idea(make, db, category=c2)
    exchange.change_status(product, b, "planned", "Planned for the spring release.")
    merging.merge(product, c, a)
    db.session.commit()

    def ids(**kw):
        return {i.id for i in db.session.execute(lists.ideas(**kw)).scalars()}

    assert ids() == {a.id, b.id}                       # duplicates hidden by default
    assert ids(status="duplicate") == {c.id}
    assert ids(status="planned") == {b.id}
    assert ids(category_id=c2.id) == {b.id}
    assert ids(tag="mobile") == {a.id, b.id}
    assert ids(tag="sync", category_id=c1.id) == set()


def test_product_figures(make, db):
    now = utcnow()
    idea = new_idea(make, db, at=now - timedelta(days=100))
    for days in (1, 3, 10, 20, 40, 80):
        vote(db, make.user(), idea, at=now - timedelta(days=days))
    gained = lists.votes_gained([idea.id], now=now)[idea.id]
    assert gained == {7: 2, 30: 4, 90: 6}
    weekly = lists.weekly_votes([idea.id], now=now)[idea.id]
    assert len(weekly) == 12 and sum(weekly) == 6 and weekly[-1] == 2 and weekly[-2] == 1
    points = lists.sparkline_points(weekly).split()
    assert len(points) == 12 and points[-1].endswith(",4.0")  # the top of the box (pad 4): the highest week


def test_export_csv(make, db):
    now = utcnow()
    cat = make.category("Mobile App")
    a = new_idea(make, db, category=cat, title="=HYPERLINK(evil) offline mode", at=now - timedelta(days=90))
    vote(db, make.user(), a, at=now - timedelta(days=60))
    vote(db, make.user(), a, at=now - timedelta(days=2))
    b = new_idea(make, db, title="Another idea in another product")
    exchange.change_status(make.user(role="product"), b, "planned", "We plan this one soon.")
    db.session.commit()
    rows = list(csv.reader(io.StringIO(lists.export_csv())))
    assert rows[0] == list(lists.CSV_COLUMNS)
    assert rows[1][:6] == [str(a.id), "'=HYPERLINK(evil) offline mode", "Mobile App", "new", "3", "1"]
    assert rows[1][6:11] == ["3", "0", "0", "0", "3"]   # author + 2 voters; no links
    assert rows[1][11] == a.created_at.strftime("%Y-%m-%d")
    assert rows[1][12].endswith(f"/ideas/{a.id}/{a.slug}")
    assert rows[2][:6] == [str(b.id), b.title, b.category.name, "planned", "1", "1"]
    only = list(csv.reader(io.StringIO(lists.export_csv(status="planned"))))
    assert [r[0] for r in only[1:]] == [str(b.id)]
    assert len(list(csv.reader(io.StringIO(lists.export_csv(category_id=cat.id))))) == 2


def test_similar_by_title(make, db):
    product = make.user(role="product")
    dark = new_idea(make, db, title="Dark mode for the web app")
    new_idea(make, db, title="Dark theme on mobile devices")
    dup = new_idea(make, db, title="Dark mode please please")
    new_idea(make, db, title="Invoices as a ZIP archive")
    merging.merge(product, dup, dark)
    db.session.commit()
    results = lists.similar_by_title("dark mode in the web")
    assert [r["id"] for r in results][0] == dark.id
    assert dup.id not in [r["id"] for r in results]
    assert {r["title"] for r in results} == {"Dark mode for the web app", "Dark theme on mobile devices"}
    assert results[0]["votes"] == 2 and results[0]["url"] == f"/ideas/{dark.id}/{dark.slug}"
    assert lists.similar_by_title("the and of") == []
    assert lists.similar_by_title("100% _under_ score") == []
    found, engine = lists.similar("zip invoices")
    assert engine in ("title", "search") and found and found[0]["title"] == "Invoices as a ZIP archive"


def test_category_summary(make, db):
    now = utcnow()
    mobile, billing = make.category("Mobile App"), make.category("Billing")
    a = new_idea(make, db, category=mobile, at=now - timedelta(days=60))
    b = new_idea(make, db, category=mobile)
    c = new_idea(make, db, category=billing)
    vote(db, make.user(), a, at=now - timedelta(days=45))
    vote(db, make.user(), a)
    exchange.change_status(make.user(role="product"), b, "declined", "Not for us, sorry.")
    merging.merge(make.user(role="product"), c, a)
    db.session.commit()
    summary = {row["name"]: row for row in lists.category_summary(now=now)}
    assert summary["Mobile App"] == {"id": mobile.id, "name": "Mobile App", "ideas": 2, "open": 1,
                                     "votes": 5, "votes_30d": 3}
    assert "Billing" not in summary   # its only idea is a duplicate


def test_comments_count_bump_activity_and_notify_the_author(make, db):
    author, other = make.user(), make.user()
    idea = new_idea(make, db, author=author, at=utcnow() - timedelta(days=3))
    exchange.add_comment(author, idea, "My own follow-up comment.")
    exchange.add_comment(other, idea, "I would use this **daily**.")
    db.session.commit()
    assert idea.comment_count == 2 and (utcnow() - idea.last_activity_at).total_seconds() < 60
    notes = db.session.execute(select(Notification).where(Notification.kind == "idea_comment")).scalars().all()
    assert [(n.user_id, n.actor_id) for n in notes] == [(author.id, other.id)]
    assert exchange.comments(idea)[1].body_html == "<p>I would use this <strong>daily</strong>.</p>"
    with pytest.raises(ValidationError):
        exchange.add_comment(other, idea, " ")


def test_vote_racing_a_merge_is_refused_and_leaves_nothing(make, db):
    """The session still believes the idea is open; the database already closed it (a merge
    committed by another worker).  The status re-read under the row lock refuses the vote."""
    from sqlalchemy import update

    idea, voter = new_idea(make, db), make.user()
    assert idea.status == "new"
    db.session.execute(update(Idea).where(Idea.id == idea.id).values(status="duplicate")
                       .execution_options(synchronize_session=False))
    assert idea.status == "new"    # stale in memory, as in a concurrent request
    with pytest.raises(Conflict):
        exchange.set_vote(voter, idea, 1)
    db.session.rollback()
    assert voter_rows(db, idea) == 1 and db.session.get(Idea, idea.id).vote_count == 1


def test_following_a_merged_idea_follows_where_it_went(make, db):
    a, b = new_idea(make, db), new_idea(make, db)
    merging.merge(make.user(role="product"), a, b)
    user = make.user()
    assert exchange.follow(user, a) is True
    assert exchange.is_following(user, b) and not exchange.is_following(user, a)
