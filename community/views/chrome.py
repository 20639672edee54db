"""What every page's frame needs: which nav section is current, and the staff menu."""
from __future__ import annotations

from flask import Flask, request

from .. import permissions

# Endpoint (or blueprint) → nav section; the more specific name wins.
_SECTIONS = {
    "main.home": "home",
    "main": "questions",
    "forum": "questions",
    "deflection": "questions",
    "ideas.product": "product",
    "ideas.export": "product",
    "ideas": "ideas",
    "search": "search",
    "kb": "kb",
    "users.directory": "people",
    "users.profile": "people",
    "users": "account",
    "settings": "settings",
    "support": "support",
    "tickets.mine": "my-tickets",
    "tickets.my_ticket": "my-tickets",
    "tickets.unresolved": "unresolved",
    "tickets": "tickets",
    "moderation.audit": "audit",
    "moderation": "moderation",
    "analytics": "analytics",
}

# (section, label, endpoint, permission) for the one staff menu, in order.
STAFF_LINKS = (
    ("moderation", "Moderation queue", "moderation.queue", permissions.can_moderate),
    ("audit", "Audit log", "moderation.audit", permissions.can_view_audit_log),
    ("tickets", "Tickets", "tickets.queue", permissions.can_view_tickets),
    ("unresolved", "Unresolved threads", "tickets.unresolved", permissions.can_view_tickets),
    ("product", "Product view", "ideas.product", permissions.can_view_product_board),
    ("analytics", "Analytics", "analytics.dashboard", permissions.can_view_metrics),
)


def current_section() -> str | None:
    endpoint = request.endpoint or ""
    return _SECTIONS.get(endpoint) or _SECTIONS.get(endpoint.partition(".")[0])


def init_app(app: Flask) -> None:
    def staff_links(user):
        """The staff links this user may follow (and that exist in this app)."""
        return [(section, label, endpoint) for section, label, endpoint, allowed in STAFF_LINKS
                if endpoint in app.view_functions and allowed(user)]

    app.jinja_env.globals.update(current_section=current_section, staff_links=staff_links)
