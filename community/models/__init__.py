"""All models, imported here so that Alembic and the app see the whole metadata."""
from .audit import AuditEntry
from .base import utcnow
from .forum import (
    Category,
    DuplicateLink,
    Post,
    PostRevision,
    Tag,
    Thread,
    ThreadView,
    Vote,
    thread_tags,
)
from .ideas import Idea, IdeaComment, IdeaFollow, IdeaLink, IdeaStatusChange, IdeaVote, idea_tags
from .learning import EVIDENCE_SOURCES, RelatedClick, SearchEvidence, SearchQueueEntry
from .kb import ARTICLE_STATES, Article, ArticleFeedback, ArticleRevision, article_tags
from .metrics import AskEvent, AskRefusal, AskSession, DeflectionCredit
from .moderation import FLAG_OUTCOMES, FLAG_REASONS, Flag
from .notifications import (
    EMAIL_CHOICES,
    EMAIL_KIND_OF,
    EMAIL_KINDS,
    WATCH_LEVELS,
    CategorySubscription,
    InboundMail,
    Notification,
    NotificationPreference,
    OutboxMessage,
    SpentLink,
    TagSubscription,
    ThreadSubscription,
)
from .reputation import ReputationEvent
from .tickets import Ticket, TicketEvent, WebhookAttempt
from .uploads import Upload
from .user import ROLES, STAFF_ROLES, ApiToken, PasswordReset, User

__all__ = [
    "ApiToken", "SearchQueueEntry", "AskEvent", "AskRefusal", "AuditEntry", "AskSession", "DeflectionCredit", "Category", "DuplicateLink", "FLAG_OUTCOMES", "FLAG_REASONS", "Flag", "Notification", "NotificationPreference", "ThreadSubscription", "CategorySubscription", "TagSubscription", "OutboxMessage", "InboundMail", "SpentLink", "PasswordReset", "Post",
    "PostRevision", "ROLES", "ReputationEvent", "STAFF_ROLES", "Tag", "Thread", "ThreadView",
    "Ticket", "TicketEvent", "Upload", "User", "Vote", "WebhookAttempt", "thread_tags", "utcnow",
    "ARTICLE_STATES", "Article", "ArticleFeedback", "ArticleRevision", "article_tags",
    "EVIDENCE_SOURCES", "RelatedClick", "SearchEvidence", "Idea", "IdeaComment", "IdeaFollow", "IdeaLink", "IdeaStatusChange", "IdeaVote", "idea_tags",
]
