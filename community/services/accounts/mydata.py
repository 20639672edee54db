""""My data": everything a member wrote and everything stored about them, as one JSON document.

The export is table by table (``SOURCES``: the model, the column naming the member, the
name of the section) with every column of each row, so a new column is exported without
anyone remembering to; secrets (password and token hashes) are the only columns left out.
Ask sessions carry what the member typed while searching, so their events are included.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import inspect, select

from ...extensions import db
from ...models import (
    ApiToken,
    Article,
    ArticleFeedback,
    AskEvent,
    AskSession,
    CategorySubscription,
    Flag,
    Idea,
    IdeaComment,
    IdeaFollow,
    IdeaVote,
    Notification,
    NotificationPreference,
    Post,
    PostRevision,
    ReputationEvent,
    TagSubscription,
    Thread,
    ThreadSubscription,
    Ticket,
    TicketEvent,
    Upload,
    User,
    Vote,
    utcnow,
)

FORMAT_VERSION = 1
#: Columns never exported: credentials, even hashed, are not "data about" anyone.
SECRET_COLUMNS = {"password_hash", "token_hash"}
#: (section, model, the column that names the member), in the order the document lists them.
SOURCES = (
    ("threads", Thread, Thread.author_id),
    ("posts", Post, Post.author_id),
    ("post_revisions", PostRevision, PostRevision.editor_id),
    ("votes", Vote, Vote.user_id),
    ("ideas", Idea, Idea.author_id),
    ("idea_comments", IdeaComment, IdeaComment.author_id),
    ("idea_votes", IdeaVote, IdeaVote.user_id),
    ("idea_follows", IdeaFollow, IdeaFollow.user_id),
    ("articles", Article, Article.author_id),
    ("article_feedback", ArticleFeedback, ArticleFeedback.user_id),
    ("flags", Flag, Flag.user_id),
    ("tickets", Ticket, Ticket.requester_id),
    ("ticket_messages", TicketEvent, TicketEvent.actor_id),
    ("notifications", Notification, Notification.user_id),
    ("notification_preferences", NotificationPreference, NotificationPreference.user_id),
    ("thread_subscriptions", ThreadSubscription, ThreadSubscription.user_id),
    ("category_subscriptions", CategorySubscription, CategorySubscription.user_id),
    ("tag_subscriptions", TagSubscription, TagSubscription.user_id),
    ("reputation_events", ReputationEvent, ReputationEvent.user_id),
    ("api_tokens", ApiToken, ApiToken.user_id),
    ("uploads", Upload, Upload.user_id),
    ("ask_sessions", AskSession, AskSession.user_id),
)

#: Columns naming a member that are not exported, and why (``tests/accounts/test_my_data.py`` holds
#: every foreign key to ``users`` to be in ``SOURCES`` or here, so a new table is not forgotten).
NOT_EXPORTED = {
    "audit_log.actor_id": "staff's actions on others: the moderation record, kept for accountability",
    "ideas.response_by_id": "staff work on other members' ideas",
    "idea_status_changes.changed_by_id": "staff work on other members' ideas",
    "idea_links.created_by_id": "staff work linking ideas, threads and tickets",
    "articles.credited_user_id": "an article made from the member's answer: the answer is in posts, the reward in reputation_events",
    "article_revisions.editor_id": "staff edits of knowledge-base articles",
    "posts.edited_by_id": "an edit of someone's post; the member's own edits are their post_revisions",
    "thread_duplicates.closed_by_id": "closing a thread as a duplicate: staff or the asker, on the thread",
    "tickets.assignee_id": "support agents' work on other people's tickets",
    "tickets.created_by_id": "an agent opening a ticket for someone; the requester's tickets are exported",
    "flags.resolved_by_id": "moderators resolving other members' flags",
    "notifications.actor_id": "other members' notifications, naming this member as their cause",
    "reputation_events.actor_id": "other members' ledger rows, naming this member as their cause",
    "deflection_credits.author_id": "holds other visitors' pseudonymous ids; the credit is in reputation_events",
    "deflection_credits.user_id": "derived from the member's ask_sessions, which are exported",
    "outbox.user_id": "mail waiting to be sent: its text is the notifications, already exported",
    "password_resets.user_id": "reset links: secrets only",
}


def _value(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def row_dict(row) -> dict:
    """Every column of one row (by its attribute name), secrets left out, timestamps as ISO 8601."""
    mapper = inspect(row).mapper
    return {attr.key: _value(getattr(row, attr.key)) for attr in mapper.column_attrs
            if attr.key not in SECRET_COLUMNS}


def export(user: User) -> dict:
    """The whole document for ``user`` (the caller checked who may ask: ``permissions.can_export_account``)."""
    document = {"format": FORMAT_VERSION, "exported_at": utcnow().isoformat(), "profile": row_dict(user)}
    for section, model, column in SOURCES:
        rows = db.session.execute(select(model).where(column == user.id).order_by(*inspect(model).primary_key)
                                  ).scalars().all()
        document[section] = [row_dict(row) for row in rows]
    session_ids = [row["id"] for row in document["ask_sessions"]]
    events = db.session.execute(select(AskEvent).where(AskEvent.session_id.in_(session_ids))
                                .order_by(AskEvent.id)).scalars().all() if session_ids else []
    document["ask_events"] = [row_dict(event) for event in events]
    return document
