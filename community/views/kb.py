"""Knowledge-base pages: the article list, an article with "Was this helpful?", writing and
editing articles, promoting a solved thread, and the staff review list."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request
from flask_login import current_user, login_required

from .. import permissions, urls
from ..models import ARTICLE_STATES
from ..ratelimit import hit
from ..services.forum import listings, threads
from ..services.kb import articles, feedback
from ..services.kb import review as kb_review
from ..services.kb import listings as kb_listings
from ..services.deflection.visitors import visitor_id
from . import deflection as deflection_views
from .actions import commit
from .util import paginate

bp = Blueprint("kb", __name__)


def _article_or_404(article_id: int):
    article = articles.get_article(article_id)
    if not permissions.can_view_article(current_user, article):
        abort(404)
    return article


def article_url(article) -> str:
    return urls.article_url(article)


@bp.get("/kb")
def index():
    staff = permissions.can_see_unpublished_articles(current_user)
    category_id = request.args.get("category", type=int)
    state = request.args.get("state") if staff and request.args.get("state") in ARTICLE_STATES else None
    pagination = paginate(kb_listings.articles(category_id=category_id, tag=request.args.get("tag") or None,
                                               state=state, include_unpublished=staff))
    return render_template("kb/index.html", pagination=pagination, categories=listings.categories(),
                           category_id=category_id, state=state, staff=staff, states=ARTICLE_STATES)


@bp.get("/kb/<int:article_id>")
@bp.get("/kb/<int:article_id>-<slug>")
def article(article_id: int, slug: str | None = None):
    article = _article_or_404(article_id)
    if slug != article.slug:
        return redirect(article_url(article), 301)
    # Read the visitor cookie without minting one: merely viewing an article records nothing.
    has_cookie = request.cookies.get(current_app.config["DEFLECTION_VISITOR_COOKIE"])
    voter = feedback.voter_key(current_user, visitor_id() if has_cookie else None)
    staff = permissions.can_write_articles(current_user)
    return render_template("kb/article.html", article=article, answer=feedback.answer_of(article, voter),
                           staff=staff, revisions=articles.revisions(article) if staff else [],
                           reasons=feedback.reasons(article) if staff else [],
                           prompt=deflection_views.prompt_for("article", article.id) if article.published else None)


@bp.post("/kb/<int:article_id>/feedback")
def give_feedback(article_id: int):
    article = _article_or_404(article_id)
    if not article.published:
        abort(404)
    if current_user.is_authenticated and current_user.is_suspended:
        abort(403)
    choice = request.form.get("helpful")
    if choice not in ("yes", "no"):
        flash("Choose yes or no.", "error")
        return redirect(article_url(article))

    def record():
        hit("ARTICLE_FEEDBACK_RATE_LIMIT")
        return feedback.record(article, feedback.voter_key(current_user, visitor_id()), choice == "yes",
                               request.form.get("reason"), user=current_user)

    outcome = commit(record)
    if outcome.error:
        flash(outcome.error.message, "error")
        return redirect(article_url(article))
    flash("Thanks for telling us." if outcome.value else "You already told us about this article.", "success")
    return redirect(article_url(article) + "#feedback")


def _form_from_request(defaults: dict | None = None) -> dict:
    defaults = defaults or {}
    return {key: request.form.get(key, defaults.get(key, "")) for key in ("title", "body", "tags", "reason")} | {
        "category_id": request.form.get("category_id", type=int) or defaults.get("category_id"),
        "state": request.form.get("state", defaults.get("state", "draft"))}


@bp.route("/kb/new", methods=["GET", "POST"])
@login_required
def new():
    if not permissions.can_write_articles(current_user):
        abort(403)
    form, error = _form_from_request(), None
    if request.method == "POST":
        outcome = commit(lambda: articles.create_article(
            current_user, threads.get_category(form["category_id"]), form["title"], form["body"], form["tags"],
            state=form["state"], reason=form["reason"] or "Created"))
        error, article = outcome.error, outcome.value
        if not error:
            flash("Article saved." if article.state == "draft" else "Article published.", "success")
            return redirect(article_url(article))
    return render_template("kb/form.html", form=form, error=error, categories=listings.categories(),
                           article=None, thread=None)


@bp.route("/kb/<int:article_id>/edit", methods=["GET", "POST"])
@login_required
def edit(article_id: int):
    if not permissions.can_write_articles(current_user):
        abort(403)
    article = articles.get_article(article_id)
    current = {"title": article.title, "body": article.body, "tags": " ".join(t.name for t in article.tags),
               "category_id": article.category_id, "state": article.state, "reason": ""}
    form, error = _form_from_request(current), None
    if request.method == "POST":

        def update():
            category = threads.get_category(form["category_id"])
            articles.update_article(current_user, article, title=form["title"], body=form["body"],
                                    tags=form["tags"], category=category, reason=form["reason"])
            articles.set_state(current_user, article, form["state"])

        error = commit(update).error
        if not error:
            flash("Article updated.", "success")
            return redirect(article_url(article))
    return render_template("kb/form.html", form=form, error=error, categories=listings.categories(),
                           article=article, thread=None)


@bp.route("/threads/<int:thread_id>/promote", methods=["GET", "POST"])
@login_required
def promote(thread_id: int):
    thread = threads.get_thread(thread_id)
    if not permissions.can_promote_thread(current_user, thread):
        abort(403)
    existing = articles.article_for_thread(thread.id)
    if existing is not None:
        flash("This thread is already an article.", "info")
        return redirect(article_url(existing))
    form, error = _form_from_request(articles.promotion_draft(thread)), None
    if request.method == "POST":
        outcome = commit(lambda: articles.promote(
            current_user, thread, title=form["title"], body=form["body"], tags=form["tags"],
            category=threads.get_category(form["category_id"]), state=form["state"]))
        error, article = outcome.error, outcome.value
        if not error:
            flash("The thread is now an article; its answerer was credited.", "success")
            return redirect(article_url(article))
    return render_template("kb/form.html", form=form, error=error, categories=listings.categories(),
                           article=None, thread=thread)


@bp.get("/kb/review")
@login_required
def review():
    if not permissions.can_write_articles(current_user):
        abort(403)
    return render_template("kb/review.html", items=kb_review.needs_review())
