"""Watching, tracking or muting a whole category or tag (a thread's own level wins)."""
from __future__ import annotations

from flask import Blueprint, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from ..extensions import db
from ..models import Category, Tag
from ..services.accounts import subscriptions
from ..services.errors import NotFound
from .actions import commit_and_redirect

bp = Blueprint("subscriptions", __name__)

MESSAGES = {"watching": "You are watching {name}: every new question and post in it notifies you.",
            "tracking": "You are tracking {name}: threads you open there count their unread posts.",
            "muted": "{name} is muted: its threads will not notify you.",
            None: "{name}: back to normal notifications."}


@bp.post("/categories/<slug>/watch")
@login_required
def category(slug: str):
    cat = db.session.execute(select(Category).where(Category.slug == slug)).scalar()
    if cat is None:
        raise NotFound("No such category.")
    level = request.form.get("level") or None
    return commit_and_redirect(lambda: subscriptions.set_category_level(current_user.id, cat.id, level),
                               success=lambda value: MESSAGES[value].format(name=cat.name),
                               back=url_for("forum.category", slug=cat.slug))


@bp.post("/tags/<tag>/watch")
@login_required
def tag(tag: str):
    found = db.session.execute(select(Tag).where(func.lower(Tag.name) == tag.strip().lower())).scalar()
    if found is None:
        raise NotFound("No such tag.")
    level = request.form.get("level") or None
    return commit_and_redirect(lambda: subscriptions.set_tag_level(current_user.id, found.id, level),
                               success=lambda value: MESSAGES[value].format(name=f"the tag “{found.name}”"),
                               back=url_for("main.tag", tag=found.name))
