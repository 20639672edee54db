"""Register, log in, log out."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import db
from ..ratelimit import check, hit
from ..services.accounts import reset, users
from ..services.errors import Conflict, RateLimited, ServiceError, ValidationError
from .sso import login_options, provider_logout
from .sso import login_page as _login_page
from .actions import commit
from .util import safe_next

bp = Blueprint("auth", __name__)


@bp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    if login_options()["sso_only"]:
        flash("Accounts here come from your company's sign-in.", "info")
        return redirect(url_for("auth.login"))
    errors, form = {}, {}
    if request.method == "POST":
        form = {k: request.form.get(k, "") for k in ("username", "email")}
        try:
            user = _sign_up(form)
        except ServiceError as exc:
            db.session.rollback()
            errors[exc.field or "form"] = exc.message
            status = 429 if isinstance(exc, RateLimited) else 400
            return render_template("auth/register.html", form=form, errors=errors), status
        login_user(user)
        flash(f"Welcome, {user.username}! Ask your first question or help someone else.", "success")
        return redirect(safe_next(url_for("main.home")))
    return render_template("auth/register.html", form=form, errors=errors)


_TOO_MANY_FAILURES = ("Too many failed sign-up attempts from your network in the last few minutes. "
                      "Wait 10 minutes, then try again.")
_TOO_MANY_SIGNUPS = "Many accounts were created from your network today. Please try again later."


def _sign_up(form: dict):
    """Create and commit the account; only a success counts toward the address's sign-up limit,
    failures count toward a limit of their own that slows guessing down."""
    address = f"ip:{request.remote_addr}"
    check("REGISTER_FAILURE_RATE_LIMIT", key=address, message=_TOO_MANY_FAILURES)
    try:
        if request.form.get("password") != request.form.get("password2"):
            raise ValidationError("The two passwords do not match.", field="password2")
        user = users.register(form["username"], form["email"], request.form.get("password", ""))
    except (ValidationError, Conflict):
        db.session.rollback()
        hit("REGISTER_FAILURE_RATE_LIMIT", key=address, message=_TOO_MANY_FAILURES)
        raise
    hit("REGISTER_RATE_LIMIT", key=address, message=_TOO_MANY_SIGNUPS)  # before commit: refused means nothing kept
    db.session.commit()
    return user


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    error = None
    login_name = ""
    options = login_options()
    if request.method == "POST":
        login_name = request.form.get("login", "").strip()
        try:
            hit("LOGIN_RATE_LIMIT", key=f"ip:{request.remote_addr}")
            hit("LOGIN_RATE_LIMIT", key=users.login_throttle_key(login_name))
        except RateLimited as exc:
            return _login_page(error=exc.message, login=login_name), 429
        user = users.authenticate(login_name, request.form.get("password", ""))
        if user is None:
            error = "That username or email and password do not match."
            return _login_page(error=error, login=login_name), 400
        if options["sso_only"] and not user.is_staff:
            error = f"Members sign in with the button “{options['sso_label']}”, not a password."
            return _login_page(error=error, login=login_name), 403
        login_user(user, remember=bool(request.form.get("remember")))
        users.touch_last_seen(user)
        db.session.commit()
        flash(f"Welcome back, {user.username}.", "success")
        return redirect(safe_next(url_for("main.home")))
    return _login_page(error=error, login=login_name)


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    flash("You are logged out.", "info")
    return provider_logout() or redirect(url_for("main.home"))


@bp.route("/forgot", methods=["GET", "POST"])
def forgot():
    """Ask for a reset link.  Every address gets the same page, status and work (docs/accounts.md)."""
    if request.method == "POST":
        address = reset.normalize(request.form.get("email", ""))
        if not address:
            return render_template("auth/forgot.html", error="Enter the email address of your account."), 400
        try:
            hit("FORGOT_IP_RATE_LIMIT", key=f"ip:{request.remote_addr}")
            hit("FORGOT_ADDRESS_RATE_LIMIT", key=f"address:{address}")
        except RateLimited as exc:
            return render_template("auth/forgot.html", error=exc.message, email=address), 429
        outcome = commit(lambda: reset.request_reset(address, request.remote_addr))
        if outcome.error:  # pragma: no cover - request_reset raises no ServiceError
            return render_template("auth/forgot.html", error=outcome.error.message), outcome.status
        return render_template("auth/forgot_sent.html", email=address)
    return render_template("auth/forgot.html", email="")


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Choose a new password from the link in the mail; it signs out every other session."""
    try:
        reset.check_token(token)
    except ServiceError as exc:
        return render_template("auth/reset.html", invalid=exc.message), 400
    if request.method == "POST":
        outcome = commit(lambda: reset.reset_password(token, request.form.get("password", ""),
                                                      request.form.get("confirm", "")))
        if outcome.error:
            if outcome.error.field == "token":
                return render_template("auth/reset.html", invalid=outcome.error.message), 400
            return render_template("auth/reset.html", error=outcome.error, token=token), outcome.status
        logout_user()
        login_user(outcome.value)
        flash("Your password is changed, and every other browser and device is signed out.", "success")
        return redirect(url_for("main.home"))
    return render_template("auth/reset.html", token=token)
