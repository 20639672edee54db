"""What the thread page shows beside the posts for the viewer's role: the support ticket
banner, moderators' tools (categories to move to, open flags per post), a member's own
flags, and ideas suggested to those who link them.

Read here once per page by ``forum.render_thread_page`` and handed to the templates, so that
no template runs a query of its own and each panel's data costs a query only for the roles
that see it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_login import current_user

from .. import permissions
from ..services.forum import listings
from ..services.ideas import links as idea_links
from ..services.moderation import flags
from ..services.tickets import queue as tickets_queue


@dataclass(frozen=True)
class ThreadPanels:
    #: The thread's latest ticket as ``(id, status, requester_id)``, or None.
    ticket: tuple | None = None
    #: Moderators: categories to move the thread to.
    categories: list = field(default_factory=list)
    #: Moderators: open flags per post id.
    open_flags: dict[int, int] = field(default_factory=dict)
    #: Members: the posts they have an open flag on.
    my_flags: set[int] = field(default_factory=set)
    #: Those who link ideas: ideas the title may be asking for.
    suggested_ideas: list = field(default_factory=list)


def for_thread(thread, linked_ideas) -> ThreadPanels:
    """The panels of ``thread`` for the current viewer (``linked_ideas`` are not suggested again)."""
    moderator = permissions.can_moderate(current_user)
    member = current_user.is_authenticated
    suggested = []
    if permissions.can_link_ideas(current_user) and not thread.deleted:
        suggested = idea_links.suggest_for_text(thread.title, limit=5,
                                                exclude_ids=[i.id for i in linked_ideas])
    return ThreadPanels(
        ticket=tickets_queue.banner(thread.id),
        categories=listings.categories() if moderator else [],
        open_flags=flags.open_counts_for_thread(thread.id) if moderator else {},
        my_flags=flags.flagged_by(current_user.id, thread.id) if member and not moderator else set(),
        suggested_ideas=suggested,
    )


def suggested_ideas_for_ticket(ticket, linked_ideas) -> list:
    """Ideas a ticket's subject may be asking for, for those who link them."""
    if not permissions.can_link_ideas(current_user):
        return []
    return idea_links.suggest_for_text(ticket.subject, limit=5, exclude_ids=[i.id for i in linked_ideas])
