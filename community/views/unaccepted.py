"""Moderators' list of threads whose asker never accepted, with the best-voted answer to accept
on the asker's behalf (the accept button posts to ``forum.accept``, audited there)."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required

from .. import permissions
from ..services.mail import reminders

bp = Blueprint("unaccepted", __name__)


@bp.get("/moderation/unaccepted")
@login_required
def index():
    if not permissions.can_moderate(current_user):
        abort(403)
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    rows, total = reminders.never_accepted(page)
    return render_template("moderation/unaccepted.html", rows=rows, total=total, page=page, per_page=30)
