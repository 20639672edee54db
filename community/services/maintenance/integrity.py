"""Invariants between stored counters, the reputation ledger and the rows they count.

Counters and totals are denormalised for speed; the ledger is append-only.
A bug, a crash between two writes or a hand edit can make them disagree, and
nothing on a page would say so.  ``find_drift()`` checks, on any site:

- ``post_score``: a post's score is the sum of its votes (plus the score an import brought);
- ``thread_score``: a live thread's score is its question's score;
- ``reply_count``: a live thread counts its answers that are neither hidden nor deleted;
- ``idea_votes`` / ``idea_comments``: an idea counts its vote and comment rows;
- ``vote_ledger``: each standing vote on a live post has exactly the open ledger rows its
  value grants (+1: one upvote row; −1: one ``post_downvoted`` and at most one
  ``downvote_cast``), a withdrawn vote or a deleted post none;
- ``accept_ledger``: open accept rows exist only for a thread's accepted answer, at most
  one of each reason;
- ``idea_vote_ledger``: each standing idea vote by someone other than the idea's author has
  exactly one open ``idea_upvoted`` row (``source="idea:<id>"``, the voter as actor), a
  withdrawn or merged-away vote none;
- ``daily_cap``: no user gained more than the daily cap from capped reasons on one day;
- ``reputation``: a user's total is the sum of their ledger rows;
- ``cap_counter``: a user's daily cap counter (``users.cap_day``, ``cap_points``) is their latest
  ``cap_day`` in the ledger and the sum of that day's rows;
- ``search_index``: the search index holds exactly the database's searchable threads,
  ideas and articles, each as the database gives it now: per key, none missing (a write
  whose indexing was lost), none extra (a row deleted outside the app), none stale (a
  stored field such as the title, votes or replies differs: SQL that bypassed the ORM).

``repair()`` fixes what is derivable: counters from rows, surplus open ledger rows
reversed (the oldest kept), totals from the ledger; ``repair_search()`` re-indexes each
drifted document from the database (``search_drift()`` checks them).  A missing ledger row or a
day over the cap is reported, not invented: what the rule would have granted
then is not known.  Callers commit.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import aliased

from ... import search
from ...extensions import db
from ...models import Idea, IdeaComment, IdeaVote, Post, ReputationEvent, Thread, User, Vote
from ..forum import reputation

UPVOTE_REASONS = ("question_upvoted", "answer_upvoted")
ACCEPT_REASONS = ("answer_accepted", "accepted_answer")


@dataclass(frozen=True)
class Drift:
    """One disagreement: ``check`` names the invariant, ``subject`` the row (``post:12``)."""

    check: str
    subject: str
    expected: object
    actual: object
    fixable: bool = True

    def __str__(self) -> str:
        how = "" if self.fixable else "  (not derivable: fix by hand)"
        return f"{self.check:<14} {self.subject:<16} expected {self.expected}, found {self.actual}{how}"


def find_drift() -> list[Drift]:
    """Every invariant above, checked in a handful of aggregate queries."""
    db.session.flush()
    found: list[Drift] = []
    for check in CHECKS:
        found.extend(check())
    return found


def repair() -> list[Drift]:
    """Repair what is derivable; returns the drift found before repairing."""
    found = find_drift()
    _reverse_surplus_rows(found)
    _fix_counters()
    reputation.recompute_all()
    db.session.flush()
    return found


# -- counters ------------------------------------------------------------------

def _vote_sums():
    return (select(Vote.post_id, func.sum(Vote.value).label("total"))
            .group_by(Vote.post_id).subquery())


def _post_scores() -> list[Drift]:
    sums = _vote_sums()
    wanted = Post.imported_score + func.coalesce(sums.c.total, 0)
    rows = db.session.execute(
        select(Post.id, Post.score, wanted)
        .outerjoin(sums, sums.c.post_id == Post.id).where(Post.score != wanted)
    ).all()
    return [Drift("post_score", f"post:{pid}", int(want), have) for pid, have, want in rows]


def _thread_scores() -> list[Drift]:
    rows = db.session.execute(
        select(Thread.id, Thread.score, Post.score)
        .join(Post, Post.id == Thread.question_post_id)
        .where(_live_thread(), Thread.score != Post.score)
    ).all()
    return [Drift("thread_score", f"thread:{tid}", want, have) for tid, have, want in rows]


def _live_thread():
    """Deleted and merged threads keep their last counters (their posts left or went with them)."""
    return Thread.live


def _visible_answers():
    return (select(Post.thread_id, func.count(Post.id).label("n"))
            .where(Post.is_question.is_(False), Post.deleted.is_(False), Post.hidden.is_(False))
            .group_by(Post.thread_id).subquery())


def _reply_counts() -> list[Drift]:
    answers = _visible_answers()
    rows = db.session.execute(
        select(Thread.id, Thread.reply_count, func.coalesce(answers.c.n, 0))
        .outerjoin(answers, answers.c.thread_id == Thread.id)
        .where(_live_thread(), Thread.reply_count != func.coalesce(answers.c.n, 0))
    ).all()
    return [Drift("reply_count", f"thread:{tid}", int(want), have) for tid, have, want in rows]


def _idea_counter(model, column, check: str) -> list[Drift]:
    counts = select(model.idea_id, func.count(model.id).label("n")).group_by(model.idea_id).subquery()
    rows = db.session.execute(
        select(Idea.id, column, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.idea_id == Idea.id)
        .where(column != func.coalesce(counts.c.n, 0))
    ).all()
    return [Drift(check, f"idea:{iid}", int(want), have) for iid, have, want in rows]


def _idea_votes() -> list[Drift]:
    return _idea_counter(IdeaVote, Idea.vote_count, "idea_votes")


def _idea_comments() -> list[Drift]:
    return _idea_counter(IdeaComment, Idea.comment_count, "idea_comments")


def _fix_counters() -> None:
    """Every counter from its rows, in one UPDATE per counter."""
    votes = select(func.coalesce(func.sum(Vote.value), 0)).where(Vote.post_id == Post.id)
    answers = select(func.count(Post.id)).where(
        Post.thread_id == Thread.id, Post.is_question.is_(False), Post.deleted.is_(False),
        Post.hidden.is_(False))
    question = select(Post.score).where(Post.id == Thread.question_post_id)
    statements = [
        update(Post).values(score=Post.imported_score + votes.scalar_subquery()),
        update(Thread).where(_live_thread(), Thread.question_post_id.is_not(None))
        .values(score=question.scalar_subquery()),
        update(Thread).where(_live_thread()).values(reply_count=answers.scalar_subquery()),
    ]
    for model, attr in ((IdeaVote, "vote_count"), (IdeaComment, "comment_count")):
        rows = select(func.count(model.id)).where(model.idea_id == Idea.id)
        statements.append(update(Idea).values({attr: rows.scalar_subquery()}))
    for statement in statements:
        db.session.execute(statement.execution_options(synchronize_session=False))
    db.session.expire_all()


# -- the ledger ----------------------------------------------------------------

def _open_rows():
    """Ledger rows that are not reversals and have not been reversed."""
    reversal = aliased(ReputationEvent)
    return (select(ReputationEvent.id, ReputationEvent.vote_id, ReputationEvent.post_id,
                   ReputationEvent.reason)
            .outerjoin(reversal, reversal.reversal_of_id == ReputationEvent.id)
            .where(ReputationEvent.reversal_of_id.is_(None), reversal.id.is_(None)))


def _wanted_vote_rows(value: int, live: bool) -> dict[str, tuple[int, int]]:
    """(fewest, most) open rows per reason group that a vote of ``value`` stands for."""
    if not live or value == 0:
        return {"upvote": (0, 0), "post_downvoted": (0, 0), "downvote_cast": (0, 0)}
    if value == 1:
        return {"upvote": (1, 1), "post_downvoted": (0, 0), "downvote_cast": (0, 0)}
    return {"upvote": (0, 0), "post_downvoted": (1, 1), "downvote_cast": (0, 1)}


def _vote_ledger() -> list[Drift]:
    rows = _open_rows().where(ReputationEvent.vote_id.is_not(None)).subquery()
    per_vote: dict[int, dict[str, list[int]]] = {}
    for row_id, vote_id, reason in db.session.execute(
            select(rows.c.id, rows.c.vote_id, rows.c.reason).order_by(rows.c.id)).all():
        key = "upvote" if reason in UPVOTE_REASONS else reason
        per_vote.setdefault(vote_id, {}).setdefault(key, []).append(row_id)
    votes = db.session.execute(
        select(Vote.id, Vote.value, Post.deleted).join(Post, Post.id == Vote.post_id)
        .where((Vote.value != 0) | Vote.id.in_(list(per_vote) or [-1]))
    ).all()
    found = []
    for vote_id, value, deleted in votes:
        open_rows = per_vote.get(vote_id, {})
        for key, (fewest, most) in _wanted_vote_rows(value, not deleted).items():
            have = len(open_rows.get(key, []))
            if not fewest <= have <= most:
                wanted = fewest if fewest == most else f"{fewest}..{most}"
                found.append(Drift("vote_ledger", f"vote:{vote_id}", f"{wanted} open {key} row(s)",
                                   have, fixable=have > most))
    return found


def _accept_ledger() -> list[Drift]:
    accepted = {pid for (pid,) in db.session.execute(
        select(Thread.accepted_post_id).where(Thread.accepted_post_id.is_not(None),
                                              Thread.deleted.is_(False)))}
    rows = db.session.execute(
        _open_rows().where(ReputationEvent.reason.in_(ACCEPT_REASONS)).order_by(ReputationEvent.id)
    ).all()
    seen: dict[tuple[int, str], int] = {}
    for _id, _vote, post_id, reason in rows:
        seen[(post_id, reason)] = seen.get((post_id, reason), 0) + 1
    found = []
    for (post_id, reason), count in sorted(seen.items(), key=lambda kv: (kv[0][0] or 0, kv[0][1])):
        wanted = 1 if post_id in accepted else 0
        if count > wanted:
            found.append(Drift("accept_ledger", f"post:{post_id}",
                               f"{wanted} open {reason} row(s)", count))
    return found


def _idea_vote_rows() -> dict[tuple[str, int], list[int]]:
    """Open ``idea_upvoted`` row ids by (source, voter), oldest first."""
    rows = _open_rows().add_columns(ReputationEvent.source, ReputationEvent.actor_id).where(
        ReputationEvent.reason == "idea_upvoted").order_by(ReputationEvent.id)
    found: dict[tuple[str, int], list[int]] = {}
    for row in db.session.execute(rows).all():
        found.setdefault((row.source, row.actor_id), []).append(row.id)
    return found


def _standing_idea_votes() -> set[tuple[str, int]]:
    return {(f"idea:{idea_id}", voter) for idea_id, voter in db.session.execute(
        select(IdeaVote.idea_id, IdeaVote.user_id).join(Idea, Idea.id == IdeaVote.idea_id)
        .where(IdeaVote.user_id != Idea.author_id)).all()}


def _idea_vote_ledger() -> list[Drift]:
    rows, standing = _idea_vote_rows(), _standing_idea_votes()
    found = []
    for source, voter in sorted(set(rows) | standing, key=lambda k: (k[0] or "", k[1] or 0)):
        wanted, have = (1 if (source, voter) in standing else 0), len(rows.get((source, voter), []))
        if have != wanted:
            found.append(Drift("idea_vote_ledger", f"{source}/user:{voter}", f"{wanted} open idea_upvoted row(s)",
                               have, fixable=have > wanted))
    return found


def _daily_cap() -> list[Drift]:
    cap = current_app.config["REPUTATION_DAILY_CAP"]
    rows = db.session.execute(
        select(ReputationEvent.user_id, ReputationEvent.cap_day, func.sum(ReputationEvent.points))
        .where(ReputationEvent.cap_day.is_not(None))
        .group_by(ReputationEvent.user_id, ReputationEvent.cap_day)
        .having(func.sum(ReputationEvent.points) > cap)
    ).all()
    return [Drift("daily_cap", f"user:{uid}", f"at most {cap} on {day}", int(total), fixable=False)
            for uid, day, total in rows]


def _reputation_totals() -> list[Drift]:
    sums = (select(ReputationEvent.user_id, func.sum(ReputationEvent.points).label("total"))
            .group_by(ReputationEvent.user_id).subquery())
    rows = db.session.execute(
        select(User.id, User.reputation_points, func.coalesce(sums.c.total, 0))
        .outerjoin(sums, sums.c.user_id == User.id)
        .where(User.reputation_points != func.coalesce(sums.c.total, 0))
    ).all()
    return [Drift("reputation", f"user:{uid}", int(want), have) for uid, have, want in rows]


def _cap_counters() -> list[Drift]:
    return [Drift("cap_counter", f"user:{uid}", wanted, have) for uid, wanted, have in reputation.cap_counter_drift()]


def _reverse_surplus_rows(found: list[Drift]) -> None:
    """Reverse open rows beyond what the vote, accept or idea vote stands for, keeping the oldest."""
    votes = {int(d.subject.split(":")[1]) for d in found if d.check == "vote_ledger" and d.fixable}
    posts = {int(d.subject.split(":")[1]) for d in found if d.check == "accept_ledger"}
    for vote_id in sorted(votes):
        vote, deleted = db.session.execute(
            select(Vote, Post.deleted).join(Post, Post.id == Vote.post_id).where(Vote.id == vote_id)).one()
        wanted = _wanted_vote_rows(vote.value, not deleted)
        _keep_at_most(reputation.open_events(ReputationEvent.vote_id == vote_id), wanted)
    accepted = set(db.session.execute(select(Thread.accepted_post_id).where(
        Thread.accepted_post_id.in_(posts or [-1]), Thread.deleted.is_(False))).scalars())
    for post_id in sorted(posts):
        most = 1 if post_id in accepted else 0
        events = reputation.open_events(and_(ReputationEvent.post_id == post_id,
                                             ReputationEvent.reason.in_(ACCEPT_REASONS)))
        _keep_at_most(events, {r: (0, most) for r in ACCEPT_REASONS})
    if any(d.check == "idea_vote_ledger" and d.fixable for d in found):
        standing = _standing_idea_votes()
        for key, ids in _idea_vote_rows().items():
            for event_id in ids[1 if key in standing else 0:]:
                reputation.reverse(db.session.get(ReputationEvent, event_id))


def _keep_at_most(events, wanted: dict[str, tuple[int, int]]) -> None:
    kept: dict[str, int] = {}
    for event in events:
        key = "upvote" if event.reason in UPVOTE_REASONS else event.reason
        kept[key] = kept.get(key, 0) + 1
        if kept[key] > wanted.get(key, (0, 0))[1]:
            reputation.reverse(event)


CHECKS = (_post_scores, _thread_scores, _reply_counts, _idea_votes, _idea_comments,
          _vote_ledger, _accept_ledger, _idea_vote_ledger, _daily_cap, _reputation_totals, _cap_counters)


# -- the search index ------------------------------------------------------------------
# Checked apart from the rows: the search package reads the database through a session of
# its own (what is committed), which must not wait behind a transaction holding the write
# lock (``write_intent`` on SQLite).

def search_drift() -> list[Drift]:
    """Each document the index lacks, keeps although it should not, or holds in an older
    version than the database's (``search.drift()``); updates waiting in the indexing queue
    are applied first (a nightly check must not report what is about to be written)."""
    search.apply_pending(lock_timeout=10.0)
    found = search.drift()
    return ([Drift("search_index", key, "in the index", "missing") for key in found["missing"]]
            + [Drift("search_index", key, "not in the index", "still there") for key in found["extra"]]
            + [Drift("search_index", key, "as in the database", f"stale {', '.join(fields)}")
               for key, fields in found["stale"]])


def repair_search() -> list[Drift]:
    """Re-index each drifted document from the database; returns the drift found before."""
    found = search_drift()
    if found:
        search.touch(*sorted({drift.subject for drift in found}))
    return found
