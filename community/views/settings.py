"""The settings area: profile, password, email address and API tokens of the signed-in member."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user

from .. import permissions
from ..extensions import csrf, db
from ..models import User
from ..ratelimit import check, hit
from ..services.accounts import preferences, settings, subscriptions
from ..services.errors import NotFound, PermissionDenied, RateLimited, ServiceError
from .actions import commit, commit_and_redirect

bp = Blueprint("settings", __name__)

SECTIONS = (("profile", "Profile", "settings.profile"), ("password", "Password", "settings.password"),
            ("email", "Email address", "settings.email"), ("notifications", "Notifications", "settings.notifications"),
            ("tokens", "API tokens", "settings.tokens"), ("data", "My data", "account_data.page"))


def _page(template: str, section: str, status: int = 200, **context):
    return render_template(f"settings/{template}", sections=SECTIONS, settings_section=section, **context), status


def _failed(exc: ServiceError, template: str, section: str, **context):
    """The form again, with the refusal beside its field (the outcome was rolled back)."""
    return _page(template, section, exc.status, error=exc, **context)


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def profile():
    if request.method == "POST":
        form = {k: request.form.get(k, "") for k in ("display_name", "about", "location", "website")}
        if not permissions.can_edit_profile(current_user):
            return _page("profile.html", "profile", 403, form=form, error=PermissionDenied(
                "Your account is suspended: your public profile cannot be changed until it ends."))
        outcome = commit(lambda: settings.update_profile(current_user, **form))
        if outcome.error:
            return _failed(outcome.error, "profile.html", "profile", form=form)
        flash("Your profile is saved.", "success")
        return redirect(url_for("settings.profile"))
    return _page("profile.html", "profile", form=_profile_form())


@bp.post("/settings/username")
@login_required
def username():
    """Once, for a username derived at the first company sign-in."""
    wanted = request.form.get("username", "")
    outcome = commit(lambda: settings.change_username(current_user, wanted))
    if outcome.error:
        return _failed(outcome.error, "profile.html", "profile", form=_profile_form(), wanted=wanted)
    flash(f"Your username is now {outcome.value.username}. It cannot be changed again.", "success")
    return redirect(url_for("settings.profile"))


@bp.post("/settings/avatar")
@login_required
def avatar():
    """Upload an avatar (``file``), or ``remove=1`` for the generated one."""
    if not permissions.can_edit_profile(current_user):
        raise PermissionDenied("Your account is suspended: your public profile cannot be changed until it ends.")
    if request.form.get("remove"):
        return commit_and_redirect(lambda: settings.remove_avatar(current_user),
                                   success="Your avatar is the generated one again.", back=url_for("settings.profile"))
    file = request.files.get("file")
    raw = file.read(current_app.config["UPLOAD_MAX_BYTES"] + 1) if file else b""
    outcome = commit(lambda: settings.set_avatar(current_user, raw))
    if outcome.error:
        return _failed(outcome.error, "profile.html", "profile", form=_profile_form())
    flash("Your avatar is saved.", "success")
    return redirect(url_for("settings.profile"))


def _profile_form() -> dict:
    return {"display_name": current_user.display_name or "", "about": current_user.about or "",
            "location": current_user.location or "", "website": current_user.website or ""}


def _guard_current_password() -> None:
    """Wrong current passwords count against the member's limit (a stolen session guessing)."""
    check("PASSWORD_CHANGE_RATE_LIMIT", key=f"user:{current_user.id}",
          message="Too many wrong passwords. Wait an hour, then try again.")


def _count_wrong_password(exc: ServiceError) -> None:
    if exc.field in ("current", "password"):
        try:
            hit("PASSWORD_CHANGE_RATE_LIMIT", key=f"user:{current_user.id}")
        except RateLimited:
            pass


@bp.route("/settings/password", methods=["GET", "POST"])
@login_required
def password():
    if request.method == "POST":
        def change():
            _guard_current_password()
            return settings.change_password(current_user, request.form.get("current", ""),
                                            request.form.get("new", ""), request.form.get("confirm", ""))

        outcome = commit(change)
        if outcome.error:
            _count_wrong_password(outcome.error)
            return _failed(outcome.error, "password.html", "password")
        stay_signed_in(outcome.value)
        flash("Your password is changed. Every other browser and device is signed out.", "success")
        return redirect(url_for("settings.password"))
    return _page("password.html", "password")


@bp.post("/settings/sessions/end-others")
@login_required
def end_other_sessions():
    """"Sign out everywhere else": a lost phone or a shared computer, without changing the password."""
    outcome = commit(lambda: settings.end_every_session(current_user._get_current_object()))
    if outcome.error:  # pragma: no cover - end_every_session raises no ServiceError
        flash(outcome.error.message, "error")
        return redirect(url_for("settings.password"))
    stay_signed_in(outcome.value)
    flash("Every other browser and device is signed out, including ones where you chose “Remember me”.",
          "success")
    return redirect(url_for("settings.password"))


def stay_signed_in(user: User) -> None:
    """Sign this browser in again under the user's new session version (the old one just died),
    keeping its "remember me" cookie if it had one (renewed with the new id)."""
    if hasattr(user, "_get_current_object"):   # current_user itself: flask-login needs the real object
        user = user._get_current_object()
    remembered = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies \
        or session.get("_remember") == "set"
    login_user(user, remember=remembered)


@bp.route("/settings/email", methods=["GET", "POST"])
@login_required
def email():
    if request.method == "POST":
        address = request.form.get("email", "")
        def ask():
            _guard_current_password()
            return settings.request_email_change(current_user, request.form.get("password", ""), address)

        outcome = commit(ask)
        if outcome.error:
            _count_wrong_password(outcome.error)
            return _failed(outcome.error, "email.html", "email", form={"email": address})
        flash(f"We are sending a link to {outcome.value}. Your address changes when you open it.", "success")
        return redirect(url_for("settings.email"))
    return _page("email.html", "email", form={"email": ""})


@bp.route("/settings/email/confirm/<token>", methods=["GET", "POST"])
def confirm_email(token: str):
    """GET shows a button (mail scanners open links); POST changes the address.  No sign-in
    needed: the signed link proves the mailbox, and it names the account."""
    try:
        user, new_email = settings.read_email_change(token)
    except ServiceError as exc:
        return render_template("settings/confirm_email.html", error=exc), 400
    if request.method == "POST":
        outcome = commit(lambda: settings.confirm_email_change(token))
        if outcome.error:
            return render_template("settings/confirm_email.html", error=outcome.error), outcome.status
        flash(f"Your email address is now {outcome.value.email}.", "success")
        return redirect(url_for("settings.email") if current_user.is_authenticated else url_for("auth.login"))
    return render_template("settings/confirm_email.html", user=user, new_email=new_email, token=token)


@bp.route("/settings/tokens", methods=["GET", "POST"])
@login_required
def tokens():
    created = None
    if request.method == "POST":
        outcome = commit(lambda: settings.create_token(current_user, request.form.get("name", "")))
        if outcome.error:
            return _failed(outcome.error, "tokens.html", "tokens", tokens=_live_tokens())
        created = outcome.value
    return _page("tokens.html", "tokens", tokens=_live_tokens(), created=created)


def _live_tokens():
    return db.session.execute(settings.tokens_of(current_user)).scalars().all()


@bp.post("/settings/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    token = settings.own_token(current_user, token_id)   # someone else's: 404 (the app's error page)
    return commit_and_redirect(
        lambda: settings.revoke_token(token).name,
        success=lambda name: f"The token “{name}” is revoked; programs using it are refused from now on.",
        back=url_for("settings.tokens"))


@bp.get("/account")
@bp.get("/password")
def shortcut():
    """Old and guessed addresses of the settings pages."""
    return redirect(url_for("settings.password" if request.path == "/password" else "settings.profile"))


def _notifications_page(status: int = 200, error=None):
    from ..services.forum import listings

    followed = subscriptions.of_user(current_user.id)
    return _page("notifications.html", "notifications", status, error=error,
                 choices=preferences.choices(current_user.id), labels=preferences.LABELS,
                 choice_labels=preferences.CHOICE_LABELS, categories=listings.categories(), followed=followed,
                 category_levels={cat.id: level for cat, level in followed["categories"]})


@bp.route("/settings/notifications", methods=["GET", "POST"])
@login_required
def notifications():
    """Per kind of event: email at once, daily digest, on the site only, or off; the level asking
    or answering gives a thread; categories and tags watched, tracked or muted."""
    if request.method == "POST":
        form = {k: request.form.get(k) for k in preferences.LABELS if request.form.get(k) is not None}
        levels = {k: v for k, v in request.form.items() if k == "auto_watch" or k.startswith(("category-", "tag-"))
                  or k in ("new_tag", "new_tag_level")}

        def save():
            preferences.set_choices(current_user.id, form)
            subscriptions.apply_form(current_user, levels)

        outcome = commit(save)
        if outcome.error:
            return _notifications_page(outcome.error.status, outcome.error)
        flash("Your notification preferences are saved.", "success")
        return redirect(url_for("settings.notifications"))
    return _notifications_page()


@bp.post("/threads/<int:thread_id>/watch")
@login_required
def watch(thread_id: int):
    """Watch (every post), track (unread counted), mute (nothing) or neither, for one thread."""
    from ..services.forum import threads as forum_threads

    thread = forum_threads.get_thread(thread_id)
    if not permissions.can_view_thread(current_user, thread):
        raise NotFound("No such thread.")
    level = request.form.get("level") or None
    labels = {"watching": "You are watching this thread: every new post notifies you.",
              "tracking": "You are tracking this thread: its unread posts are counted in your notifications.",
              "muted": "This thread is muted: it will not notify you.", None: "Back to normal notifications."}
    return commit_and_redirect(lambda: subscriptions.set_thread_level(current_user.id, thread.id, level),
                               success=lambda value: labels[value],
                               back=url_for("forum.thread", thread_id=thread.id, slug=thread.slug))


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe(token: str):
    """One click from a mail, no login: GET asks (scanners open links), POST turns the kind off.
    Mail clients POST ``List-Unsubscribe=One-Click`` here themselves (RFC 8058)."""
    try:
        user, kind = preferences.read_unsubscribe(token)
    except ServiceError as exc:
        return render_template("settings/unsubscribe.html", error=exc), 400
    if request.method == "POST":
        outcome = commit(lambda: preferences.unsubscribe(token))
        if outcome.error:
            return render_template("settings/unsubscribe.html", error=outcome.error), outcome.status
        return render_template("settings/unsubscribe.html", done=True, label=preferences.UNSUBSCRIBE_LABELS[kind])
    return render_template("settings/unsubscribe.html", label=preferences.UNSUBSCRIBE_LABELS[kind], token=token,
                           user=user)
