"""Every route and every API operation, tried by every role, against the declared rules.

The rules live in ``tests/platform/route_rules.py``.  A route with no rule
fails here, so a new page or endpoint cannot ship without someone deciding
who may use it.  Reads are tried by every role on the same objects; a write
is tried by each refused role (nothing may get through), then by each
allowed role on fresh objects (it must get past the permission check).
"""
from __future__ import annotations

import io

import re
from datetime import timedelta
from urllib.parse import urlparse

import pytest

from sqlalchemy import select

from community.models import ApiToken, OutboxMessage, utcnow
from community.services import notifications
from community.services.accounts import users
from community.services.forum import accepting
from community.services.ideas import links
from community.services.kb import articles
from community.services.ideas import exchange
from community.services.tickets import payloads, webhooks, workflow
from community.services.uploads import store as uploads
from tests.platform.route_rules import ROLES, RULES, TINY_PNG, Rule

PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")


def route_keys(app) -> set[str]:
    keys = set()
    for rule in app.url_map.iter_rules():
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            keys.add(f"{method} {rule.rule}")
    return keys


def test_every_route_has_a_rule_and_every_rule_a_route(app):
    keys = route_keys(app)
    missing = sorted(keys - set(RULES))
    stale = sorted(set(RULES) - keys)
    assert not missing, f"routes without a rule in tests/platform/route_rules.py: {missing}"
    assert not stale, f"rules for routes that no longer exist: {stale}"


def test_every_openapi_operation_has_a_rule_that_agrees_on_anonymous_access(client):
    document = client.get("/api/v1/openapi.json").get_json()
    by_openapi = {PARAM.sub(r"{\2}", key): rule for key, rule in RULES.items()}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            key = f"{method.upper()} /api/v1{path}" if not path.startswith("/api/") else f"{method.upper()} {path}"
            assert key in by_openapi, f"OpenAPI operation without a rule: {key}"
            public = {} in operation.get("security", [{}])
            assert public == ("anonymous" in by_openapi[key].allowed), key


class Scene:
    """Fresh objects owned by ``member``: a thread with an answer, an idea, a ticket, a notification."""

    def __init__(self, make, db, people):
        member = people["member"]
        self.category = make.category()
        self.thread = make.thread(author=member, category=self.category, tags="billing")
        self.answer = make.reply(self.thread, author=member)
        self.other_thread = make.thread(author=people["other"], category=self.category)
        self.idea = exchange.create_idea(member, self.category, f"Offline mode number {make.n}",
                                         "Let me read my notes without a connection, please.")
        self.other_idea = exchange.create_idea(people["other"], self.category, f"Dark mode number {make.n}",
                                               "Easier on the eyes at night, for everyone.")
        self.ticket = workflow.open_ticket(source="contact", subject="Invoices are missing",
                                           body="Last month's invoice is not there.", requester=member)
        self.notification = notifications.notify(member.id, "accepted", "Your answer was accepted",
                                                  f"/threads/{self.thread.id}")
        self.message = OutboxMessage(channel=webhooks.CHANNEL, failed_at=utcnow(), attempts=3, payload={
            "event": "ticket.created", "ticket": payloads.staff_view(self.ticket, include_email=True)})
        db.session.add(self.message)
        self.target = make.user()
        self.solved_thread = make.thread(author=member, category=self.category)
        solution = make.reply(self.solved_thread, author=people["other"])
        accepting.accept(member, self.solved_thread, solution)
        self.article = articles.create_article(people["agent"], self.category, f"Help article {make.n}",
                                               "How to export every invoice as a PDF.", state="published")
        self.link, _ = links.link_thread(people["agent"], self.idea, self.other_thread)
        users.issue_token(member, f"scene {make.n}")
        db.session.flush()
        self.api_token = db.session.execute(select(ApiToken).where(ApiToken.user_id == member.id)
                                            .order_by(ApiToken.id.desc())).scalars().first()
        self.upload, _ = uploads.store(member, TINY_PNG, "screenshot.png")
        db.session.commit()

    def values(self) -> dict:
        return {"thread_id": self.thread.id, "post_id": self.answer.id, "answer_id": self.answer.id,
                "idea_id": self.idea.id, "other_idea_id": self.other_idea.id,
                "other_thread_id": self.other_thread.id, "ticket_id": self.ticket.id,
                "notification_id": self.notification.id, "message_id": self.message.id,
                "category_id": self.category.id, "username": self.target.username,
                "tag": "billing", "session_id": "x", "kind": "thread", "target_id": self.thread.id,
                "solved_thread_id": self.solved_thread.id, "article_id": self.article.id, "link_id": self.link.id,
                "token_id": self.api_token.id, "name": self.upload.filename}

    def slug_for(self, key: str) -> str:
        if " /categories/" in key:
            return self.category.slug
        if "/kb/" in key:
            return self.article.slug
        return (self.idea if "/ideas/" in key else self.thread).slug


class Visitors:
    """One test client per role (signed in before each request) and API tokens."""

    def __init__(self, app, make, db, token_for):
        self.people, self.clients, self.tokens = {}, {}, {}
        for role in ROLES[1:]:
            base = role if role in ("moderator", "agent", "product", "admin") else "member"
            user = make.user(f"role_{role}", role=base, reputation=3000)
            if role == "suspended":
                user.suspended_until = utcnow() + timedelta(days=7)
            self.people[role] = user
        db.session.commit()
        for role in ROLES:
            self.clients[role] = app.test_client()
            if role != "anonymous":
                self.tokens[role] = token_for(self.people[role])

    def sign_in(self, role: str):
        """The role's client, signed in again (an earlier request may have logged it out)."""
        client = self.clients[role]
        with client.session_transaction() as session:
            session.clear()
            if role != "anonymous":
                session["_user_id"], session["_fresh"] = self.people[role].get_id(), True
        return client


def _fill(value, values: dict):
    if isinstance(value, bytes):  # a file field: a fresh file for every request
        return (io.BytesIO(value), "screenshot.png")
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        name, _, kind = value[1:-1].partition(":")
        return int(values[name]) if kind == "int" else str(values[name])
    return value


def _request(visitors: Visitors, role: str, key: str, rule: Rule, scene: Scene):
    method, path = key.split(" ", 1)
    values = {**scene.values(), **{k: _fill(v, scene.values()) for k, v in rule.path.items()}}
    url = PARAM.sub(lambda m: str(scene.slug_for(key) if m.group(2) == "slug" else values[m.group(2)]), path)
    body = {k: _fill(v, values) for k, v in (rule.body or {}).items()} if rule.body is not None else None
    client = visitors.sign_in(role)
    if path.startswith("/api/"):
        headers = {**rule.headers, **visitors.tokens.get(role, {})}
        return client.open(url, method=method, headers=headers, json=body if method != "GET" else None)
    return client.open(url, method=method, headers=rule.headers, data=body if method != "GET" else None)


def _refused(response, rule: Rule) -> bool:
    if response.status_code in (401, 403, 404):
        return True
    if response.status_code in (301, 302, 303):
        target = urlparse(response.headers.get("Location", "")).path
        return target.endswith("/login") or (rule.refused_to is not None and target.startswith(rule.refused_to))
    return False


def _verdicts(app, make, db, token_for):
    visitors = Visitors(app, make, db, token_for)
    wrong = []
    shared = Scene(make, db, visitors.people)
    for key, rule in sorted(RULES.items()):
        writes = not key.startswith("GET ")
        refused_roles = [r for r in ROLES if r not in rule.allowed]
        for role in (refused_roles if writes else ROLES):
            response = _request(visitors, role, key, rule, shared)
            if response.status_code >= 500 or _refused(response, rule) != (role not in rule.allowed):
                wrong.append(f"{key} as {role}: {response.status_code} {response.headers.get('Location', '')}")
        for role in (r for r in ROLES if r in rule.allowed) if writes else ():
            # A write gets objects of its own; they need no search documents (indexing each
            # scene's commits made this test take minutes).
            with app.extensions["search"].paused_listeners():
                scene = Scene(make, db, visitors.people)
            response = _request(visitors, role, key, rule, scene)
            if response.status_code >= 500 or _refused(response, rule):
                wrong.append(f"{key} as {role} (allowed): {response.status_code} "
                             f"{response.headers.get('Location') or response.get_data(as_text=True)[:120]!r}")
    return wrong


@pytest.mark.usefixtures("db")
def test_every_role_gets_exactly_what_its_rule_says(app, make, db, token_for):
    wrong = _verdicts(app, make, db, token_for)
    assert not wrong, "\n".join(wrong)
