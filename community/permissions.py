"""Who may do what.

One function per action, used by HTML views, the JSON API and templates
alike.  Services do the work and do not check these: the caller must.
Every function accepts ``None`` or an anonymous user for "not logged in".
"""
from __future__ import annotations

from flask import current_app

MODERATORS = ("moderator", "admin")
ESCALATORS = ("moderator", "agent", "admin")
AGENTS = ("agent", "admin")
PRODUCT = ("product", "admin")
IDEA_MERGERS = ("product", "moderator", "admin")
METRICS_READERS = ("moderator", "agent", "product", "admin")
IDEA_LINKERS = ("moderator", "agent", "product", "admin")
ARTICLE_WRITERS = ("agent", "product", "admin")
#: Who sees drafts and archived articles (everyone else sees published ones only).
ARTICLE_STAFF = ("moderator", "agent", "product", "admin")


def _authenticated(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False)


def is_active_member(user) -> bool:
    """Logged in and not suspended: the precondition of every write."""
    return _authenticated(user) and not user.is_suspended


def has_role(user, roles) -> bool:
    return _authenticated(user) and user.role in roles


def is_moderator(user) -> bool:
    return has_role(user, MODERATORS)


def has_privilege(user, privilege: str) -> bool:
    """Reputation-unlocked privileges; moderators and admins have them all."""
    if not is_active_member(user):
        return False
    if user.role in MODERATORS:
        return True
    threshold = current_app.config["PRIVILEGES"].get(privilege)
    if threshold is None:
        return False
    return user.reputation >= threshold


def privilege_threshold(privilege: str) -> int | None:
    return current_app.config["PRIVILEGES"].get(privilege)


# -- forum ---------------------------------------------------------------

def can_view_thread(user, thread) -> bool:
    if thread.deleted:
        return is_moderator(user)
    if thread.hidden:
        return has_role(user, ESCALATORS) or (_authenticated(user) and user.id == thread.author_id)
    return True


def can_view_hidden_posts(user) -> bool:
    return has_role(user, ESCALATORS)


def can_view_post(user, post) -> bool:
    """A hidden post exists only for staff and its author (its thread is checked apart)."""
    if post.deleted:
        return False
    if post.hidden:
        return can_view_hidden_posts(user) or (_authenticated(user) and user.id == post.author_id)
    return True


def can_create_thread(user) -> bool:
    return is_active_member(user)


def can_reply(user, thread) -> bool:
    if not is_active_member(user) or not can_view_thread(user, thread):
        return False
    return not thread.locked or is_moderator(user)


def can_vote(user, post, value: int) -> bool:
    """Whether ``user`` may cast ``value`` (1, -1, or 0 to withdraw) on ``post``."""
    if not is_active_member(user) or post.author_id == user.id:
        return False
    if value == 1:
        return has_privilege(user, "vote_up")
    if value == -1:
        return has_privilege(user, "vote_down")
    return True


def vote_refusal(user, post, value: int) -> str | None:
    """A message explaining why ``can_vote`` is false, for pages and the API."""
    if not _authenticated(user):
        return "Log in to vote."
    if user.is_suspended:
        return "Your account is suspended."
    if post.author_id == user.id:
        return "You cannot vote on your own post."
    if post.hidden:
        return "This post is hidden pending review: it cannot be voted on."
    if value == -1 and not has_privilege(user, "vote_down"):
        return f"Downvoting unlocks at {privilege_threshold('vote_down')} reputation."
    if value == 1 and not has_privilege(user, "vote_up"):
        return f"Upvoting unlocks at {privilege_threshold('vote_up')} reputation."
    return None


def can_accept(user, thread) -> bool:
    if not is_active_member(user):
        return False
    return user.id == thread.author_id or is_moderator(user)


def can_close_as_duplicate(user, thread) -> bool:
    """The asker or a moderator may close a question as a duplicate of another."""
    if not is_active_member(user):
        return False
    return user.id == thread.author_id or is_moderator(user)


def can_edit_post(user, post) -> bool:
    if not is_active_member(user):
        return False
    if post.author_id == user.id:
        return not post.thread.locked or is_moderator(user)
    return has_privilege(user, "edit_others")


def can_delete_post(user, post) -> bool:
    if not is_active_member(user):
        return False
    return post.author_id == user.id or is_moderator(user)


def can_manage_categories(user) -> bool:
    return has_role(user, ("admin",))


# -- moderation, support, product, metrics ----------------------------------

def can_moderate(user) -> bool:
    """Lock, pin, move, merge, hide, restore, suspend, review flags."""
    return is_active_member(user) and user.role in MODERATORS


def can_flag(user, post) -> bool:
    return has_privilege(user, "flag") and post.author_id != user.id


def can_escalate(user) -> bool:
    return is_active_member(user) and user.role in ESCALATORS


def can_work_tickets(user) -> bool:
    return is_active_member(user) and user.role in AGENTS


def can_view_metrics(user) -> bool:
    return is_active_member(user) and user.role in METRICS_READERS


def can_manage_ideas(user) -> bool:
    """Change an idea's status and post official responses."""
    return is_active_member(user) and user.role in PRODUCT


def can_merge_ideas(user) -> bool:
    return is_active_member(user) and user.role in IDEA_MERGERS


def can_view_audit_log(user) -> bool:
    return is_active_member(user) and user.role in MODERATORS


# -- tickets (branch tickets) ---------------------------------------------------
# Moderators, agents and admins see tickets (moderators read-only, including the
# internal notes they wrote when escalating); only agents and admins work them.
# A customer sees the public part of their own tickets; nobody else sees a ticket.

def can_view_tickets(user) -> bool:
    """The agent queue, the unresolved queue and staff ticket pages."""
    return is_active_member(user) and user.role in ESCALATORS


def can_view_own_ticket(user, ticket) -> bool:
    return _authenticated(user) and ticket.requester_id is not None and ticket.requester_id == user.id


def can_reply_own_ticket(user, ticket) -> bool:
    """The requester writes back to support on their ticket until it is closed (suspended or not:
    a suspended customer may still need support)."""
    return can_view_own_ticket(user, ticket) and ticket.status != "closed"


def can_assign_ticket_to(user) -> bool:
    """Who may be a ticket's assignee."""
    return user is not None and user.role in AGENTS and not user.is_suspended


def can_view_webhook_log(user) -> bool:
    return is_active_member(user) and user.role == "admin"


# -- moderation (branch moderation) ------------------------------------------

def can_suspend(user, target) -> bool:
    """Moderators suspend members; only admins suspend staff; nobody suspends themselves."""
    if not can_moderate(user) or target is None or user.id == target.id:
        return False
    return target.role == "member" or user.role == "admin"


def flag_refusal(user, post) -> str | None:
    """Why ``can_flag`` is false, for pages and the API."""
    if not _authenticated(user):
        return "Log in to flag posts."
    if user.is_suspended:
        return "Your account is suspended."
    if post.author_id == user.id:
        return "You cannot flag your own post."
    if not has_privilege(user, "flag"):
        return f"Flagging unlocks at {privilege_threshold('flag')} reputation."
    return None


# -- ideas ---------------------------------------------------------------------

def can_post_idea(user) -> bool:
    """Propose ideas, vote, comment: any active member."""
    return is_active_member(user)


def can_view_product_board(user) -> bool:
    """The product view and the CSV export: the product team and admins."""
    return can_manage_ideas(user)


def can_link_ideas(user) -> bool:
    """Link threads and tickets to ideas (and unlink them): moderators, agents, product, admins."""
    return is_active_member(user) and user.role in IDEA_LINKERS


def can_see_linked_ticket(user, ticket) -> bool:
    """A linked ticket's subject on an idea page: ticket staff, the product team, or its requester."""
    if can_view_tickets(user) or can_manage_ideas(user):
        return True
    return can_view_own_ticket(user, ticket)


# -- knowledge base ------------------------------------------------------------

def can_write_articles(user) -> bool:
    """Write, edit, publish and archive knowledge-base articles."""
    return is_active_member(user) and user.role in ARTICLE_WRITERS


def can_see_unpublished_articles(user) -> bool:
    return has_role(user, ARTICLE_STAFF)


def can_view_article(user, article) -> bool:
    return article.state == "published" or can_see_unpublished_articles(user)


def can_promote_thread(user, thread) -> bool:
    """Turn a visible, solved thread into an article."""
    return can_write_articles(user) and thread.solved and thread.visible



def can_edit_profile(user) -> bool:
    """The public profile (about, website) is content others read: not while suspended.
    A suspended member can still change their password, email address and tokens."""
    return is_active_member(user)


# -- my data (issue 18) -----------------------------------------------------------
# Members download and delete their own account; moderators do it for a member who asks
# (audited); staff accounts are deleted by an admin only, so no click loses the last admin.

def _signed_in(user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and getattr(user, "deleted_at", None) is None


def can_export_account(actor, target) -> bool:
    """Download everything stored about ``target``: themselves, or staff acting on a request."""
    if not _signed_in(actor):
        return False
    if actor.id == target.id:
        return True
    return can_delete_account(actor, target)


def can_delete_account(actor, target) -> bool:
    """A member deletes their own account (even while suspended); a moderator a member's;
    an admin anyone's but their own."""
    if not _signed_in(actor) or target.deleted_at is not None:
        return False
    if actor.id == target.id:
        return target.role == "member"
    if actor.role == "admin":
        return is_active_member(actor)
    return can_moderate(actor) and target.role == "member"
