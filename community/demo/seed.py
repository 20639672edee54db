"""Demo content for a fresh site: one user of each role and a believable community.

The text lives in ``demo_content.py``; this module only turns it into rows
through the same services real users go through, so reputation, counters and
notifications are all consistent.
"""
from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import func, select

from ..extensions import db
from ..models import Notification, Post, ReputationEvent, User, Vote, utcnow
from ..services.accounts import users
from ..services.forum import accepting, threads, votes
from .content import CATEGORIES, CUSTOMERS, THREADS

#: (username, role, password): printed by ``flask demo seed`` and in the README.
DEMO_ACCOUNTS = [
    ("admin", "admin", "admin-demo-pass"),
    ("mod", "moderator", "mod-demo-pass"),
    ("agent", "agent", "agent-demo-pass"),
    ("product", "product", "product-demo-pass"),
    ("alice", "member", "alice-demo-pass"),
]


def seed(rng_seed: int = 7) -> dict | None:
    """Create the demo content; ``None`` (and nothing written) if the site already has users."""
    if db.session.execute(select(func.count()).select_from(User)).scalar_one():
        return None
    rng = random.Random(rng_seed)
    people = {}
    for username, role, password in DEMO_ACCOUNTS:
        people[username] = users.create_user(username, f"{username}@example.com", password, role)
    for username in CUSTOMERS:
        people[username] = users.create_user(username, f"{username}@example.com",
                                             f"{username}-demo-pass")
    categories = {name: threads.create_category(name, description) for name, description in CATEGORIES}
    members = [people[name] for name in CUSTOMERS] + [people["alice"]]
    voters = members + [people["mod"], people["agent"], people["product"]]
    now = utcnow()
    answers = 0
    for index, item in enumerate(THREADS):
        asked = now - timedelta(days=len(THREADS) - index, hours=rng.randint(0, 20))
        author = people.get(item.get("author")) or rng.choice(members)
        thread = threads.create_thread(author, categories[item["category"]], item["title"],
                                     item["body"], item.get("tags", []), created_at=asked,
                                     notify=False)
        helpers = [m for m in members if m.id != author.id]
        for offset, answer in enumerate(item.get("answers", [])):
            replier = people.get(answer.get("author")) or rng.choice(helpers)
            when = asked + timedelta(hours=2 + offset * 5 + rng.randint(0, 3))
            post = threads.add_reply(replier, thread, answer["body"], created_at=when)
            answers += 1
            # Helpful answers gather votes; "me too" replies further down hardly any.
            wanted = rng.randint(2, 7) if offset == 0 else rng.randint(0, 3)
            if answer.get("accepted"):
                wanted += 3
            _upvote(rng, voters, post, wanted)
            if answer.get("accepted"):
                accepting.accept(author, thread, post)
                thread.solved_at = post.created_at + timedelta(hours=rng.randint(1, 30))
        question = db.session.get(Post, thread.question_post_id)
        _upvote(rng, voters, question, rng.randint(0, 6))
        thread.view_count = rng.randint(15, 60) + 40 * len(item.get("answers", [])) + rng.randint(0, 400)
    db.session.flush()
    _backdate(rng, people.values(), now)
    from .ideas import seed_ideas

    idea_count = seed_ideas(people, categories, rng)
    from .articles import seed_articles

    article_count = seed_articles(people, categories)
    from .tickets import seed_tickets

    ticket_count = seed_tickets(people)
    from .ask_sessions import seed_sessions

    # Simulated ask sessions, so that /analytics has a month of history to show.
    sessions = seed_sessions(30)
    return {"threads": len(THREADS), "answers": answers, "users": len(people), "ideas": idea_count,
            "ask_sessions": sessions, "articles": article_count, "tickets": ticket_count}


def _upvote(rng, voters, post, wanted: int) -> None:
    """``wanted`` upvotes from distinct people other than the post's author."""
    eligible = [v for v in voters if v.id != post.author_id]
    for voter in rng.sample(eligible, k=min(len(eligible), wanted)):
        votes.set_vote(voter, post, 1)


def _backdate(rng, accounts, now) -> None:
    """Spread accounts, votes and their ledger rows over the weeks the threads cover.

    Votes were cast "now" through the real services (so counters and the cap
    are right); only their timestamps move, so that profiles read like a
    community's history rather than one busy second.
    """
    oldest = min(p.created_at for p in db.session.execute(select(Post)).scalars())
    for user in accounts:
        user.created_at = oldest - timedelta(days=rng.randint(5, 400))
    posted = dict(db.session.execute(select(Post.id, Post.created_at)).all())
    when_voted = {}
    for vote in db.session.execute(select(Vote)).scalars():
        vote.created_at = vote.updated_at = min(now, posted[vote.post_id] + timedelta(hours=rng.randint(1, 96)))
        when_voted[vote.id] = vote.created_at
    for note in db.session.execute(select(Notification)).scalars():
        if note.post_id in posted:
            note.created_at = posted[note.post_id]
            if now - note.created_at > timedelta(days=14):
                note.read_at = note.created_at + timedelta(hours=rng.randint(1, 48))
    for event in db.session.execute(select(ReputationEvent)).scalars():
        if event.vote_id in when_voted:
            event.created_at = when_voted[event.vote_id]
        elif event.post_id in posted:
            event.created_at = min(now, posted[event.post_id] + timedelta(hours=rng.randint(1, 30)))
    db.session.flush()
