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
    ("reputation_events", ReputationEvent, ReputationEvent.user_id),
    ("api_tokens", ApiToken, ApiToken.user_id),
    ("uploads", Upload, Upload.user_id),
    ("ask_sessions", AskSession, AskSession.user_id),
)


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
