"""Profiles, the user directory and notifications."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from ..extensions import db
from ..models import User, utcnow
from ..services import notifications
from ..services.accounts import subscriptions, users
from ..services.deflection import credit
from ..services.forum import listings, reputation
from ..services.tickets import queue as tickets_queue
from .util import paginate, safe_next

bp = Blueprint("users", __name__)


@bp.get("/users")
def directory():
    """Members by reputation, or (``?sort=helped``) by customers their answers helped."""
    sort = "helped" if request.args.get("sort") == "helped" else "reputation"
    stmt = (credit.members_by_helped() if sort == "helped"
            else select(User).order_by(User.reputation_points.desc(), User.id))
    pagination = paginate(stmt)
    return render_template("users/directory.html", pagination=pagination, sort=sort,
                           helped=credit.helped_counts(u.id for u in pagination.items),
                           rank_for=reputation.rank_for)


def month_start():
    """The first instant of this UTC month ("this month" on profiles)."""
    return utcnow().replace(day=1, hour=0, minute=0, second=0, microsecond=0)


@bp.get("/users/<username>")
def profile(username: str):
    user = users.get_by_username(username)
    stats = users.profile_stats(user)
    questions = db.session.execute(listings.threads(author_id=user.id, sort="newest").limit(10)).scalars().all()
    is_self = current_user.is_authenticated and current_user.id == user.id
    return render_template(
        "users/profile.html", user=user, stats=stats, rank=reputation.rank_for(user.reputation),
        next_rank=reputation.next_rank(user.reputation), questions=questions,
        recent=users.recent_posts(user), ledger=reputation.history(user.id, 20),
        is_self=is_self, my_tickets=tickets_queue.for_requester(user.id, 5) if is_self else [],
        helped_all=credit.helped_by_author(user.id),
        helped_month=credit.helped_by_author(user.id, since=month_start()),
    )


@bp.get("/notifications")
@login_required
def inbox():
    pagination = paginate(notifications.for_user(current_user.id))
    return render_template("users/notifications.html", pagination=pagination,
                           tracked=subscriptions.unread(current_user.id))


@bp.post("/notifications/read")
@login_required
def mark_read():
    notifications.mark_read(current_user.id, request.form.get("id", type=int))
    db.session.commit()
    return redirect(safe_next(url_for("users.inbox")))


@bp.post("/notifications/<int:notification_id>")
@login_required
def open_notification(notification_id: int):
    """Mark a notification read and go where it points.

    A POST (the inbox shows each notification as a small form with its CSRF token), because
    it changes state: a GET would let any page, prefetcher or crawler that knows the id mark
    a member's notifications read."""
    from ..models import Notification

    note = db.session.get(Notification, notification_id)
    if note is None or note.user_id != current_user.id:
        return redirect(url_for("users.inbox"))
    notifications.mark_read(current_user.id, note.id)
    db.session.commit()
    return redirect(note.url)
