"""Profiles, the user directory and notifications."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from ..extensions import db
from ..models import User
from ..services import notifications
from ..services.accounts import users
from ..services.forum import listings, reputation
from .util import paginate, safe_next

bp = Blueprint("users", __name__)


@bp.get("/users")
def directory():
    pagination = paginate(select(User).order_by(User.reputation_points.desc(), User.id))
    return render_template("users/directory.html", pagination=pagination,
                           rank_for=reputation.rank_for)


@bp.get("/users/<username>")
def profile(username: str):
    user = users.get_by_username(username)
    stats = users.profile_stats(user)
    questions = db.session.execute(listings.threads(author_id=user.id, sort="newest").limit(10)).scalars().all()
    return render_template(
        "users/profile.html", user=user, stats=stats, rank=reputation.rank_for(user.reputation),
        next_rank=reputation.next_rank(user.reputation), questions=questions,
        recent=users.recent_posts(user), ledger=reputation.history(user.id, 20),
        is_self=current_user.is_authenticated and current_user.id == user.id,
    )


@bp.get("/notifications")
@login_required
def inbox():
    pagination = paginate(notifications.for_user(current_user.id))
    return render_template("users/notifications.html", pagination=pagination)


@bp.post("/notifications/read")
@login_required
def mark_read():
    notifications.mark_read(current_user.id, request.form.get("id", type=int))
    db.session.commit()
    return redirect(safe_next(url_for("users.inbox")))


@bp.get("/notifications/<int:notification_id>")
@login_required
def open_notification(notification_id: int):
    """Mark a notification read and go where it points."""
    from ..models import Notification

    note = db.session.get(Notification, notification_id)
    if note is None or note.user_id != current_user.id:
        return redirect(url_for("users.inbox"))
    notifications.mark_read(current_user.id, note.id)
    db.session.commit()
    return redirect(note.url)
