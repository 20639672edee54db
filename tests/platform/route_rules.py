"""Who may use each route: the declared rule table that ``test_route_roles.py`` holds the app to.

Every route of ``app.url_map`` (and so every operation of the OpenAPI
document) must have an entry here, keyed ``"METHOD /rule"`` exactly as Flask
spells the rule; a route without one fails the test, and so does an entry
for a route that no longer exists.  Add the rule with the route, in the
dict of its area.

Roles: ``anonymous``; ``member`` (owns the objects of the request: the
thread, the post, the idea, the ticket, the notification); ``suspended`` (a
member under suspension); ``other`` (a member who owns nothing here);
``moderator``, ``agent``, ``product``, ``admin``.  Everyone signed in has
enough reputation for every privilege, so a refusal is about the role or the
ownership.

``Rule.allowed`` lists the roles that get through; everyone else must be
refused: 401/403/404, or a redirect to the login page (or ``refused_to``).
``body`` is the JSON (API) or the form (pages) sent with a write, valid for
an allowed role; ``path`` overrides a path value (``{"kind": "thread"}``); ``headers`` are sent along.
"""
from __future__ import annotations

from dataclasses import dataclass, field

ROLES = ("anonymous", "member", "suspended", "other", "moderator", "agent", "product", "admin")
EVERYONE = frozenset(ROLES)
SIGNED_IN = EVERYONE - {"anonymous"}
ACTIVE = SIGNED_IN - {"suspended"}
NOT_OWNER = ACTIVE - {"member"}
MODERATORS = frozenset({"moderator", "admin"})
ESCALATORS = frozenset({"moderator", "agent", "admin"})
AGENTS = frozenset({"agent", "admin"})
PRODUCT = frozenset({"product", "admin"})
METRICS = frozenset({"moderator", "agent", "product", "admin"})
OWNER_OR_MODERATOR = MODERATORS | {"member"}
ADMIN = frozenset({"admin"})
WRITERS = frozenset({"agent", "product", "admin"})
LINKERS = frozenset({"moderator", "agent", "product", "admin"})


@dataclass(frozen=True)
class Rule:
    allowed: frozenset
    body: dict | None = None
    path: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)
    #: A redirect to a path starting with this is a refusal too (someone else's notification
    #: sends you to your inbox).
    refused_to: str | None = None


def _tiny_png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 3), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


TINY_PNG = _tiny_png()

ANSWER = {"body": "Open Settings, then Advanced, and switch it on."}
QUESTION = {"title": "How do I export my invoices?", "body": "I looked under Billing and found nothing."}

FORUM = {
    "GET /": Rule(EVERYONE),
    "GET /questions": Rule(EVERYONE),
    "GET /favicon.ico": Rule(EVERYONE),
    "POST /uploads": Rule(ACTIVE, {"file": TINY_PNG}),
    "GET /uploads/<name>": Rule(EVERYONE),
    "POST /preview": Rule(SIGNED_IN, {"body": "**Bold** and `code`."}),
    "GET /categories/<slug>": Rule(EVERYONE),
    "GET /threads/<int:thread_id>": Rule(EVERYONE),
    "GET /threads/<int:thread_id>/<slug>": Rule(EVERYONE),
    "POST /threads/<int:thread_id>/reply": Rule(ACTIVE, ANSWER),
    "POST /threads/<int:thread_id>/accept": Rule(OWNER_OR_MODERATOR, {"post_id": "{answer_id}"}),
    "POST /threads/<int:thread_id>/duplicate": Rule(OWNER_OR_MODERATOR, {"original": "{other_thread_id}"}),
    "GET /threads/<int:thread_id>/related/<int:target_id>": Rule(EVERYONE, path={"target_id": "{other_thread_id}"}),
    "GET /ask": Rule(EVERYONE - {"suspended"}),   # suspended members are told why they cannot ask
    "POST /ask": Rule(ACTIVE, {**QUESTION, "category_id": "{category_id}"}),
    "GET /tags": Rule(EVERYONE),
    "GET /tags/<tag>": Rule(EVERYONE),
    "GET /posts/<int:post_id>/edit": Rule(OWNER_OR_MODERATOR | {"other", "agent", "product"}),
    "POST /posts/<int:post_id>/edit": Rule(OWNER_OR_MODERATOR | {"other", "agent", "product"},
                                           {"body": "An edited answer that is long enough."}),
    "GET /posts/<int:post_id>/revisions": Rule(EVERYONE),
    "POST /posts/<int:post_id>/delete": Rule(OWNER_OR_MODERATOR),
    # as the page's script sends it (without it, both outcomes go back to the thread)
    "POST /posts/<int:post_id>/vote": Rule(NOT_OWNER, {"value": 1}, headers={"Accept": "application/json"}),
    "GET /admin/categories/new": Rule(ADMIN),
    "POST /admin/categories/new": Rule(ADMIN, {"name": "Invoices", "description": "About invoices"}),
    "GET /search": Rule(EVERYONE),
    "GET /static/<path:filename>": Rule(EVERYONE, path={"filename": "css/site.css"}),
}

ACCOUNTS = {
    "GET /login": Rule(EVERYONE),
    "POST /login": Rule(EVERYONE, {"login": "nobody", "password": "wrong-password"}),
    "GET /register": Rule(EVERYONE),
    "POST /register": Rule(EVERYONE, {"username": "newcomer", "email": "new@example.com",
                                      "password": "password123", "confirm": "password123"}),
    "POST /logout": Rule(SIGNED_IN),
    # Single sign-on is off in this test's app (no OIDC_ISSUER): both pages are 404 for everyone.
    # tests/accounts/test_sso.py drives them against a provider.
    "GET /login/sso": Rule(frozenset()),
    "GET /login/sso/callback": Rule(frozenset()),
    "GET /login/sso/link": Rule(frozenset()),
    "POST /login/sso/link": Rule(frozenset(), {"password": "x"}),
    "GET /login/sso/link/<token>": Rule(frozenset(), path={"token": "x"}),
    "POST /login/sso/link/<token>": Rule(frozenset(), {}, path={"token": "x"}),
    "GET /users": Rule(EVERYONE),
    "GET /users/<username>": Rule(EVERYONE),
    "GET /notifications": Rule(SIGNED_IN),
    "POST /notifications/read": Rule(SIGNED_IN, {}),
    "POST /notifications/<int:notification_id>": Rule(frozenset({"member"}), {}, refused_to="/notifications"),
    "GET /settings": Rule(SIGNED_IN),
    "POST /settings": Rule(ACTIVE, {"display_name": "Pat Doe", "about": "I run *billing*.",
                                    "location": "Lyon", "website": "https://pat.example.com"}),
    "POST /settings/avatar": Rule(ACTIVE, {"file": TINY_PNG}),
    # Only a username derived at a first company sign-in can be changed (once): nobody's here.
    "POST /settings/username": Rule(frozenset(), {"username": "fresh-name"}),
    "GET /settings/password": Rule(SIGNED_IN),
    "POST /settings/password": Rule(SIGNED_IN, {"current": "password123", "new": "a fresh long secret",
                                                "confirm": "a fresh long secret"}),
    "POST /settings/sessions/end-others": Rule(SIGNED_IN, {}),
    "GET /settings/email": Rule(SIGNED_IN),
    "POST /settings/email": Rule(SIGNED_IN, {"email": "moved@example.com", "password": "password123"}),
    # The signed link is the credential (no sign-in needed); a forged one ("x") is a 400 for everyone.
    "GET /settings/email/confirm/<token>": Rule(EVERYONE, path={"token": "x"}),
    "POST /settings/email/confirm/<token>": Rule(EVERYONE, {}, path={"token": "x"}),
    "GET /settings/tokens": Rule(SIGNED_IN),
    "POST /settings/tokens": Rule(SIGNED_IN, {"name": "Invoice export script"}),
    "POST /settings/tokens/<int:token_id>/revoke": Rule(frozenset({"member"}), {}),
    "GET /forgot": Rule(EVERYONE),
    "POST /forgot": Rule(EVERYONE, {"email": "someone@example.com"}),
    # A reset link is its own credential; a forged one ("x") is a 400 for everyone.
    "GET /reset/<token>": Rule(EVERYONE, path={"token": "x"}),
    "POST /reset/<token>": Rule(EVERYONE, {"password": "a fresh long secret", "confirm": "a fresh long secret"},
                                path={"token": "x"}),
    "GET /settings/notifications": Rule(SIGNED_IN),
    "POST /settings/notifications": Rule(SIGNED_IN, {"reply": "digest", "mention": "never"}),
    "POST /threads/<int:thread_id>/watch": Rule(SIGNED_IN, {"level": "muted"}),
    "POST /categories/<slug>/watch": Rule(SIGNED_IN, {"level": "watching"}),
    "POST /tags/<tag>/watch": Rule(SIGNED_IN, {"level": "tracking"}),
    # The signed link needs no login (one click from a mail); a forged one ("x") is a 400 for everyone.
    "GET /unsubscribe/<token>": Rule(EVERYONE, path={"token": "x"}),
    "POST /unsubscribe/<token>": Rule(EVERYONE, {"List-Unsubscribe": "One-Click"}, path={"token": "x"}),
    # The reminder mail's one-click accept: the signed link is the credential; a forged one is a 400.
    "GET /accept/<token>": Rule(EVERYONE, path={"token": "x"}),
    "POST /accept/<token>": Rule(EVERYONE, {}, path={"token": "x"}),
    "GET /settings/data": Rule(SIGNED_IN),
    "GET /settings/data/export": Rule(SIGNED_IN),
    # Members delete their own account (a wrong confirmation is a 400); staff ask an admin.
    "POST /settings/delete": Rule(frozenset({"member", "suspended", "other"}),
                                  {"confirm_username": "not-my-name", "password": "wrong"}),
    "GET /moderation/users/<username>/export": Rule(MODERATORS),
    "POST /moderation/users/<username>/delete": Rule(MODERATORS, {"note": "Support email of 3 May"}),
    "GET /account": Rule(EVERYONE),     # a redirect to /settings (which asks anonymous visitors to log in)
    "GET /password": Rule(EVERYONE),
}

DEFLECTION = {
    "POST /ask/confirm": Rule(EVERYONE, {"session_id": "x", "thread_id": "{thread_id}"}),
    "POST /ask/still-need-help": Rule(EVERYONE, {"session_id": "x"}),
    # Only for the caller's own ask session: a session id of someone else (here "x") is a 404 for all.
    "POST /ask/beacon": Rule(frozenset(), {"session": "x"}),
    "GET /ask/open/<session_id>/<kind>/<int:target_id>": Rule(
        EVERYONE, path={"session_id": "x", "kind": "thread", "target_id": "{thread_id}"}),
    "GET /analytics": Rule(METRICS),
    "GET /analytics/export.csv": Rule(METRICS),
}

IDEAS = {
    "GET /ideas": Rule(EVERYONE),
    "GET /ideas/similar": Rule(EVERYONE),
    "GET /ideas/new": Rule(ACTIVE),
    "POST /ideas/new": Rule(ACTIVE, {**QUESTION, "category_id": "{category_id}"}),
    "GET /ideas/<int:idea_id>": Rule(EVERYONE),
    "GET /ideas/<int:idea_id>/<slug>": Rule(EVERYONE),
    "POST /ideas/<int:idea_id>/vote": Rule(ACTIVE, {"value": 1}),
    "POST /ideas/<int:idea_id>/comments": Rule(ACTIVE, {"body": "Yes please, on the train."}),
    "POST /ideas/<int:idea_id>/follow": Rule(ACTIVE, {}),
    "POST /ideas/<int:idea_id>/status": Rule(PRODUCT, {"status": "planned", "response": "On the roadmap."}),
    "POST /ideas/<int:idea_id>/merge": Rule(MODERATORS | PRODUCT, {"into": "{other_idea_id}"}),
    "GET /ideas/product": Rule(PRODUCT),
    "GET /ideas/product/export.csv": Rule(PRODUCT),
}

MODERATION = {
    "GET /moderation": Rule(MODERATORS),
    "GET /moderation/audit": Rule(MODERATORS),
    "GET /moderation/unaccepted": Rule(MODERATORS),
    "POST /moderation/posts/<int:post_id>/flag": Rule(NOT_OWNER, {"reason": "spam"}),
    "POST /moderation/posts/<int:post_id>/hide": Rule(MODERATORS, {"reason": "Spam"}),
    "POST /moderation/posts/<int:post_id>/restore": Rule(MODERATORS, {}),
    "POST /moderation/posts/<int:post_id>/resolve": Rule(MODERATORS, {"outcome": "dismissed"}),
    "POST /moderation/threads/<int:thread_id>/hide": Rule(MODERATORS, {"reason": "Off-topic"}),
    "POST /moderation/threads/<int:thread_id>/restore": Rule(MODERATORS, {}),
    "POST /moderation/threads/<int:thread_id>/lock": Rule(MODERATORS, {"locked": "1"}),
    "POST /moderation/threads/<int:thread_id>/pin": Rule(MODERATORS, {"pinned": "1"}),
    "POST /moderation/threads/<int:thread_id>/move": Rule(MODERATORS, {"category_id": "{category_id}"}),
    "POST /moderation/threads/<int:thread_id>/merge": Rule(MODERATORS, {"target_id": "{other_thread_id}"}),
    "POST /moderation/users/<username>/suspend": Rule(MODERATORS, {"reason": "Spam", "until": "7d"}),
    "POST /moderation/users/<username>/reinstate": Rule(MODERATORS, {}),
}

TICKETS = {
    "GET /support/contact": Rule(EVERYONE),
    "POST /support/contact": Rule(EVERYONE, {"name": "Pat", "email": "pat@example.com",
                                             "subject": "My invoices are missing",
                                             "body": "I cannot find last month's invoice anywhere."}),
    "GET /support/contact/sent": Rule(EVERYONE),
    "GET /tickets": Rule(ESCALATORS),
    "GET /tickets/unresolved": Rule(ESCALATORS),
    "GET /tickets/<int:ticket_id>": Rule(ESCALATORS),
    "POST /tickets/<int:ticket_id>/assign-me": Rule(AGENTS, {}),
    "POST /tickets/<int:ticket_id>/update": Rule(AGENTS, {"status": "pending"}),
    "POST /tickets/<int:ticket_id>/note": Rule(AGENTS, {"body": "Checked the billing logs."}),
    "POST /tickets/<int:ticket_id>/reply": Rule(AGENTS, {"body": "We found your invoice."}),
    "POST /threads/<int:thread_id>/escalate": Rule(ESCALATORS, {"priority": "high"}),
    "GET /tickets/webhooks": Rule(ADMIN),
    "POST /tickets/webhooks/<int:message_id>/retry": Rule(ADMIN, {}),
    "GET /my/tickets": Rule(SIGNED_IN),
    "GET /my/tickets/<int:ticket_id>": Rule(frozenset({"member"})),
    "POST /my/tickets/<int:ticket_id>/reply": Rule(frozenset({"member"}), {"body": "Here is the screenshot you asked for."}),
}

API = {
    "GET /api/v1/openapi.json": Rule(EVERYONE),
    "GET /api/v1/categories": Rule(EVERYONE),
    "POST /api/v1/categories": Rule(ADMIN, {"name": "Invoices"}),
    "POST /api/v1/threads": Rule(ACTIVE, {**QUESTION, "category_id": "{category_id:int}"}),
    "GET /api/v1/threads/<int:thread_id>": Rule(EVERYONE),
    "POST /api/v1/threads/<int:thread_id>/posts": Rule(ACTIVE, ANSWER),
    "POST /api/v1/threads/<int:thread_id>/accept": Rule(OWNER_OR_MODERATOR, {"post_id": "{answer_id:int}"}),
    "PATCH /api/v1/posts/<int:post_id>": Rule(OWNER_OR_MODERATOR | {"other", "agent", "product"},
                                              {"body": "An edited answer that is long enough."}),
    "DELETE /api/v1/posts/<int:post_id>": Rule(OWNER_OR_MODERATOR),
    "POST /api/v1/posts/<int:post_id>/vote": Rule(NOT_OWNER, {"value": 1}),
    "GET /api/v1/users/<username>": Rule(EVERYONE),
    "GET /api/v1/suggest": Rule(EVERYONE),
    "GET /api/v1/metrics/deflection": Rule(METRICS),
    "GET /api/v1/ideas": Rule(EVERYONE),
    "POST /api/v1/ideas": Rule(ACTIVE, {**QUESTION, "category_id": "{category_id:int}"}),
    "GET /api/v1/ideas/<int:idea_id>": Rule(EVERYONE),
    "POST /api/v1/ideas/<int:idea_id>/vote": Rule(ACTIVE, {"value": 1}),
    "POST /api/v1/ideas/<int:idea_id>/status": Rule(PRODUCT, {"status": "planned", "response": "Soon."}),
    "POST /api/v1/ideas/<int:idea_id>/merge": Rule(MODERATORS | PRODUCT, {"into": "{other_idea_id:int}"}),
    "GET /api/v1/ideas/export.csv": Rule(PRODUCT),
    "POST /api/v1/posts/<int:post_id>/flag": Rule(NOT_OWNER, {"reason": "spam"}),
    "POST /api/v1/posts/<int:post_id>/hide": Rule(MODERATORS, {"hidden": True, "reason": "Spam"}),
    "POST /api/v1/posts/<int:post_id>/flags/resolve": Rule(MODERATORS, {"outcome": "dismissed"}),
    "GET /api/v1/moderation/flags": Rule(MODERATORS),
    "POST /api/v1/threads/<int:thread_id>/hide": Rule(MODERATORS, {"hidden": True, "reason": "Spam"}),
    "POST /api/v1/threads/<int:thread_id>/lock": Rule(MODERATORS, {"locked": True}),
    "POST /api/v1/threads/<int:thread_id>/pin": Rule(MODERATORS, {"pinned": True}),
    "POST /api/v1/threads/<int:thread_id>/move": Rule(MODERATORS, {"category_id": "{category_id:int}"}),
    "POST /api/v1/threads/<int:thread_id>/merge": Rule(MODERATORS, {"target_id": "{other_thread_id:int}"}),
    "POST /api/v1/users/<username>/suspend": Rule(MODERATORS, {"reason": "Spam", "until": "7d"}),
    "POST /api/v1/users/<username>/reinstate": Rule(MODERATORS, {}),
    "GET /api/v1/audit": Rule(MODERATORS),
    "POST /api/v1/threads/<int:thread_id>/escalate": Rule(ESCALATORS, {"priority": "high"}),
    "GET /api/v1/tickets": Rule(ESCALATORS),
    "GET /api/v1/tickets/<int:ticket_id>": Rule(ESCALATORS | {"member"}),   # the requester: their own
    "PATCH /api/v1/tickets/<int:ticket_id>": Rule(AGENTS, {"status": "pending"}),
    "POST /api/v1/tickets/<int:ticket_id>/replies": Rule(AGENTS, {"body": "We found your invoice."}),
}

ARTICLE = {"title": "Export invoices as PDF", "body": "Billing, then Invoices, then Export as PDF.",
           "category_id": "{category_id}", "state": "published", "reason": "Clearer steps"}
SOLVED = {"thread_id": "{solved_thread_id}"}

KB = {
    "GET /kb": Rule(EVERYONE),
    "GET /kb/<int:article_id>": Rule(EVERYONE),
    "GET /kb/<int:article_id>-<slug>": Rule(EVERYONE),
    "GET /kb/new": Rule(WRITERS),
    "POST /kb/new": Rule(WRITERS, ARTICLE),
    "GET /kb/<int:article_id>/edit": Rule(WRITERS),
    "POST /kb/<int:article_id>/edit": Rule(WRITERS, ARTICLE),
    "POST /kb/<int:article_id>/feedback": Rule(EVERYONE - {"suspended"}, {"helpful": "yes"}),
    "GET /kb/review": Rule(WRITERS),
    "GET /threads/<int:thread_id>/promote": Rule(WRITERS, path=SOLVED),
    "POST /threads/<int:thread_id>/promote": Rule(WRITERS, ARTICLE, path=SOLVED),
    "GET /api/v1/articles": Rule(EVERYONE),
    "GET /api/v1/articles/<int:article_id>": Rule(EVERYONE),
    "POST /api/v1/articles": Rule(WRITERS, {**ARTICLE, "category_id": "{category_id:int}"}),
    "PATCH /api/v1/articles/<int:article_id>": Rule(WRITERS, {"state": "archived"}),
    "POST /api/v1/articles/<int:article_id>/feedback": Rule(ACTIVE, {"helpful": True}),
    "POST /api/v1/threads/<int:thread_id>/promote": Rule(WRITERS, {"state": "published"}, path=SOLVED),
}

IDEA_LINKS = {
    "POST /ideas/<int:idea_id>/links": Rule(LINKERS, {"kind": "thread", "target": "{thread_id}"}),
    "POST /ideas/<int:idea_id>/links/<int:link_id>/delete": Rule(LINKERS, {}),
    "POST /threads/<int:thread_id>/idea-link": Rule(LINKERS, {"idea": "{idea_id}"}),
    "POST /tickets/<int:ticket_id>/idea-link": Rule(LINKERS, {"idea": "{idea_id}"}),
    "POST /api/v1/ideas/<int:idea_id>/links": Rule(LINKERS, {"thread_id": "{thread_id:int}"}),
    "DELETE /api/v1/ideas/<int:idea_id>/links/<int:link_id>": Rule(LINKERS),
}

PRODUCTION = {
    # load balancers poll it unauthenticated; it says only which check failed
    "GET /healthz": Rule(EVERYONE),
}

RULES: dict[str, Rule] = {**FORUM, **ACCOUNTS, **DEFLECTION, **IDEAS, **MODERATION, **TICKETS, **API, **KB,
                          **IDEA_LINKS, **PRODUCTION}
