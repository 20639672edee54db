""""My data": download everything stored about an account, and delete it (docs/accounts.md).

A member does both from ``/settings/data``; a moderator does them for a member who
asked (``/moderation/users/<name>/export`` and ``/delete``), each recorded in the audit log.
"""
from __future__ import annotations

import json

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, logout_user

from .. import permissions
from ..extensions import db
from ..ratelimit import hit
from ..services.accounts import deletion, mydata, users
from ..services.errors import ValidationError
from ..services.moderation import audit
from .actions import commit
from .settings import SECTIONS

bp = Blueprint("account_data", __name__)


def _page(status: int = 200, **context):
    return render_template("settings/data.html", sections=SECTIONS, settings_section="data",
                           can_delete=permissions.can_delete_account(current_user, current_user),
                           **context), status


@bp.get("/settings/data")
@login_required
def page():
    return _page()


def _download(user) -> Response:
    """The JSON document as a file (``attachment``, so a browser saves it)."""
    body = json.dumps(mydata.export(user), ensure_ascii=False, indent=1, sort_keys=False)
    response = Response(body, mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{user.username}-data.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/settings/data/export")
@login_required
def export():
    hit("DATA_EXPORT_RATE_LIMIT", key=f"user:{current_user.id}")
    return _download(current_user)


@bp.post("/settings/delete")
@login_required
def delete():
    """The member's own account: their username typed out, and their password."""
    user = current_user._get_current_object()
    if not permissions.can_delete_account(user, user):
        abort(403)

    def remove():
        deletion.check_confirmation(user, password=request.form.get("password", ""),
                                    typed_username=request.form.get("confirm_username", ""))
        return deletion.delete_account(user, user)

    outcome = commit(remove)
    if outcome.error:
        return _page(outcome.error.status, error=outcome.error)
    logout_user()
    flash("Your account is deleted. Your posts stay, attributed to “deleted user”.", "success")
    return redirect(url_for("main.home"))


@bp.get("/moderation/users/<username>/export")
@login_required
def staff_export(username: str):
    """A member asked for their data through support: the moderator downloads it (audited)."""
    target = users.get_by_username(username)
    if target.id == current_user.id or not permissions.can_export_account(current_user, target):
        abort(403)
    hit("DATA_EXPORT_RATE_LIMIT", key=f"user:{current_user.id}")
    audit.record(current_user, "user.export", "user", target.id, note="data export on the member's request")
    db.session.commit()
    return _download(target)


@bp.post("/moderation/users/<username>/delete")
@login_required
def staff_delete(username: str):
    """A member asked to be deleted through support; the note says how they asked (audited)."""
    target = users.get_by_username(username)
    if target.id == current_user.id or not permissions.can_delete_account(current_user, target):
        abort(403)
    note = " ".join(request.form.get("note", "").split())

    def remove():
        if not note:
            raise ValidationError("Say how the member asked (e.g. “support email of 3 May”).", field="note")
        return deletion.delete_account(current_user, target, note=f"on the member's request: {note}")

    outcome = commit(remove)
    if outcome.error:
        flash(outcome.error.message, "error")
        return redirect(url_for("users.profile", username=target.username)), outcome.error.status
    flash(f"The account is deleted; its posts now show “deleted user” ({outcome.value.username}).", "success")
    return redirect(url_for("users.profile", username=outcome.value.username))
