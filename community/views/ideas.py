"""Idea exchange pages: lists, the idea page, posting, voting, comments, following,
the product team's status changes, merging and the product view."""
from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
)
from flask_login import current_user, login_required

from .. import permissions, urls
from ..extensions import db
from ..models.ideas import IDEA_STATUSES, STATUS_LABELS
from ..ratelimit import hit
from ..services.errors import NotFound, ValidationError
from ..services.forum import listings, threads
from ..services.ideas import budget, demand, exchange, links, lists, merging
from ..services.ideas import history as ideas_history
from .actions import commit, error_json, wants_json
from .util import paginate, safe_next, url_for_args

bp = Blueprint("ideas", __name__)


def _page_context(filters: dict) -> dict:
    return {"filters": filters, "sorts": lists.SORTS, "statuses": IDEA_STATUSES,
            "status_labels": STATUS_LABELS, "categories": listings.categories()}


@bp.get("/ideas")
def index():
    filters = lists.parse_filters(request.args)
    pagination = paginate(lists.ideas(**filters))
    ids = [i.id for i in pagination.items]
    return render_template("ideas/index.html", pagination=pagination,
                           voted=exchange.voted_ids(current_user, ids),
                           trending=lists.trending_map(ids) if filters["sort"] == "trending" else {},
                           demand=demand.demand_map(ids) if filters["sort"] == "demand" else {},
                           votes_left=budget.votes_left(current_user),
                           counts=lists.status_counts(filters["category_id"]), **_page_context(filters))


@bp.get("/ideas/similar")
def similar():
    """JSON for the new-idea form's search-as-you-type."""
    hit("SUGGEST_RATE_LIMIT")
    results, engine = lists.similar(request.args.get("q", ""), limit=5)
    return jsonify({"results": results, "engine": engine})


@bp.route("/ideas/new", methods=["GET", "POST"])
@login_required
def new():
    if not permissions.can_post_idea(current_user):
        abort(403)
    form = {"title": request.values.get("title", ""), "body": request.form.get("body", ""),
            "tags": request.form.get("tags", ""), "category_id": request.values.get("category_id", type=int)}
    thread = _source_thread()
    if thread is not None and request.method == "GET":
        form.update(title=form["title"] or thread.title, category_id=form["category_id"] or thread.category_id,
                    body=f"Asked in the community: {urls.thread_url(thread, external=True)}")
    error = None
    if request.method == "POST":

        def post_idea():
            hit("POST_RATE_LIMIT")
            category = threads.get_category(request.form.get("category_id"))
            idea = exchange.create_idea(current_user, category, form["title"], form["body"], form["tags"])
            if thread is not None and permissions.can_link_ideas(current_user):
                links.link_thread(current_user, idea, thread, source="idea_form")
            return idea

        outcome = commit(post_idea)
        error, idea = outcome.error, outcome.value
        if not error:
            if exchange.has_voted(current_user, idea):
                flash("Your idea is posted and your vote counted. Share it so others can vote.", "success")
            else:
                flash("Your idea is posted (you have no votes left, so your own vote is not counted).", "info")
            return redirect(urls.idea_url(idea))
    similar_ideas = lists.similar(form["title"])[0] if form["title"] else []
    return render_template("ideas/new.html", form=form, error=error, categories=listings.categories(),
                           similar_ideas=similar_ideas, thread=thread,
                           votes_left=budget.votes_left(current_user)), (error.status if error else 200)


def _source_thread():
    """``?thread=ID``: the thread an idea is proposed from (its text suggests ideas; staff link it)."""
    thread_id = request.values.get("thread", type=int)
    if not thread_id:
        return None
    try:
        thread = threads.get_thread(thread_id)
    except NotFound:
        return None
    return thread if permissions.can_view_thread(current_user, thread) and not thread.deleted else None


def _idea_or_404(idea_id: int):
    try:
        return exchange.get_idea(idea_id)
    except NotFound as exc:
        abort(404, description=exc.message)


@bp.get("/ideas/<int:idea_id>")
@bp.get("/ideas/<int:idea_id>/<slug>")
def show(idea_id: int, slug: str | None = None, *, error=None, status_form=None, comment_body=""):
    idea = _idea_or_404(idea_id)
    if request.method == "GET" and slug != idea.slug:
        return redirect(url_for_args("ideas.show", idea_id=idea.id, slug=idea.slug), 301)
    target = ideas_history.final_target(idea) if idea.merged_into_id else None
    return render_template(
        "ideas/idea.html", idea=idea, target=target, history=exchange.history(idea),
        comments=exchange.comments(idea), voted=exchange.has_voted(current_user, idea),
        following=exchange.is_following(current_user, idea), allowed=exchange.allowed_statuses(idea),
        status_labels=STATUS_LABELS, error=error, status_form=status_form or {},
        comment_body=comment_body, linked=links.visible_links(current_user, idea),
        demand=demand.demand_for(idea), votes_left=budget.votes_left(current_user),
        related=lists.similar_by_title(idea.title, limit=5, exclude_id=idea.id) if not target else [],
    ), (error.status if error else 200)


@bp.post("/ideas/<int:idea_id>/vote")
@login_required
def vote(idea_id: int):
    """The vote button toggles; JSON for the script, a redirect without it."""
    idea = _idea_or_404(idea_id)
    if not permissions.can_post_idea(current_user):
        abort(403)

    def toggle():
        hit("VOTE_RATE_LIMIT")
        return exchange.toggle_vote(current_user, idea)

    outcome = commit(toggle)
    if outcome.error:
        if wants_json():
            return error_json(outcome.error)
        flash(outcome.error.message, "error")
        return redirect(safe_next(urls.idea_url(idea)))
    votes, voted = outcome.value
    if wants_json():
        return jsonify({"idea_id": idea.id, "votes": votes, "voted": voted})
    flash("Vote counted: you will hear when its status changes." if voted else "Vote withdrawn.", "success")
    return redirect(safe_next(urls.idea_url(idea)))


@bp.post("/ideas/<int:idea_id>/comments")
@login_required
def comment(idea_id: int):
    idea = _idea_or_404(idea_id)
    if not permissions.can_post_idea(current_user):
        abort(403)
    body = request.form.get("body", "")

    def post_comment():
        hit("POST_RATE_LIMIT")
        return exchange.add_comment(current_user, idea, body)

    outcome = commit(post_comment)
    if outcome.error:
        return show(idea.id, idea.slug, error=outcome.error, comment_body=body)
    flash("Comment posted.", "success")
    return redirect(urls.idea_url(idea) + f"#comment-{outcome.value.id}")


@bp.post("/ideas/<int:idea_id>/follow")
@login_required
def follow(idea_id: int):
    idea = _idea_or_404(idea_id)
    if not permissions.is_active_member(current_user):
        abort(403)
    if request.form.get("action") == "unfollow":
        exchange.unfollow(current_user, idea)
        message = "You no longer follow this idea (your vote stays)."
    else:
        exchange.follow(current_user, idea)
        message = "You follow this idea: you will be notified when its status changes."
    db.session.commit()
    flash(message, "success")
    return redirect(urls.idea_url(idea))


@bp.post("/ideas/<int:idea_id>/status")
@login_required
def status(idea_id: int):
    idea = _idea_or_404(idea_id)
    if not permissions.can_manage_ideas(current_user):
        abort(403)
    form = {"status": request.form.get("status", ""), "response": request.form.get("response", "")}
    outcome = commit(lambda: exchange.change_status(current_user, idea, form["status"], form["response"]))
    if outcome.error:
        return show(idea.id, idea.slug, error=outcome.error, status_form=form)
    flash(f"Status set to {STATUS_LABELS[form['status']]}; followers and voters are notified.", "success")
    return redirect(urls.idea_url(idea) + "#response")


@bp.post("/ideas/<int:idea_id>/merge")
@login_required
def merge(idea_id: int):
    idea = _idea_or_404(idea_id)
    if not permissions.can_merge_ideas(current_user):
        abort(403)
    form = {"into": request.form.get("into", ""), "note": request.form.get("note", "")}

    def merge_into():
        target_id = merging.parse_idea_ref(form["into"])
        try:
            target = exchange.get_idea(target_id)
        except NotFound:
            raise ValidationError(f"There is no idea #{target_id}.", field="into") from None
        merging.merge(current_user, idea, target, form["note"])
        return target

    outcome = commit(merge_into)
    if outcome.error:
        return show(idea.id, idea.slug, error=outcome.error, status_form=form)
    target = outcome.value
    flash(f"Merged into #{target.id}: its votes now count there, each voter once.", "success")
    return redirect(urls.idea_url(target))


# -- the product view -------------------------------------------------------------

@bp.get("/ideas/product")
@login_required
def product():
    if not permissions.can_view_product_board(current_user):
        abort(403)
    filters = lists.parse_filters(request.args)
    pagination = paginate(lists.ideas(**filters), per_page=50)
    ids = [i.id for i in pagination.items]
    weekly = lists.weekly_votes(ids)
    return render_template(
        "ideas/product.html", pagination=pagination, gained=lists.votes_gained(ids), weekly=weekly,
        demand=demand.demand_map(ids),
        spark={i: lists.sparkline_points(v) for i, v in weekly.items()}, windows=lists.WINDOWS,
        counts=lists.status_counts(filters["category_id"]), by_category=lists.category_summary(),
        **_page_context(filters))


@bp.get("/ideas/product/export.csv")
@login_required
def export():
    if not permissions.can_view_product_board(current_user):
        abort(403)
    filters = lists.parse_filters(request.args)
    body = lists.export_csv(status=filters["status"], category_id=filters["category_id"],
                            sort=filters["sort"], min_demand=filters["min_demand"])
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=ideas.csv"})
