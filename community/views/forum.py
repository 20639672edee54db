"""Categories, threads, asking, replying, voting, accepting, editing."""
from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import permissions, urls
from ..extensions import csrf, db, locks_late
from ..page_cache import cached_for_anonymous, csrf_token_for_page
from ..models import Category, Post
from ..ratelimit import hit
from ..services.accounts import subscriptions
from ..services.deflection import ask_sessions, credit, visitors
from ..services.errors import NotAuthenticated, PermissionDenied
from ..services.ideas import links as idea_links
from ..services.kb import articles
from ..services.forum import accepting, duplicates, listings, related, view_counts, votes
from ..services.forum import threads as forum_threads
from . import ask_flow
from . import deflection as deflection_views
from . import post_cards, thread_panels
from .actions import commit, commit_keeping_facts, error_json, wants_json
from .util import paginate, sort_arg, url_for_args

bp = Blueprint("forum", __name__)


@bp.get("/categories/<slug>")
@cached_for_anonymous(members=True)
def category(slug: str):
    cat = db.session.execute(select(Category).where(Category.slug == slug)).scalar()
    if cat is None:
        abort(404)
    sort = sort_arg()
    pagination = paginate(listings.threads(category_id=cat.id, sort=sort))
    watch_level = subscriptions.category_level(current_user.id, cat.id) if current_user.is_authenticated else None
    return render_template("forum/listing.html", heading=cat.name, pagination=pagination,
                           sort=sort, sorts=listings.SORTS, category=cat, tag=None, watch_level=watch_level)


def _viewable_thread(thread_id: int):
    thread = forum_threads.get_thread(thread_id)
    if thread.merged_into_id:
        return thread, redirect(url_for("forum.thread", thread_id=thread.merged_into_id), 301)
    if not permissions.can_view_thread(current_user, thread):
        abort(404)
    return thread, None


def _count_kept_page_view(remote_addr: str | None, user_agent: str, thread_id: int, slug: str | None = None) -> None:
    """A reader served the kept page (maybe outside any request context, page_cache_wsgi.py)."""
    view_counts.record_and_flush(thread_id, view_counts.anonymous_viewer(remote_addr, user_agent))


def _count_kept_member_view(user_id: int, thread_id: int, slug: str | None = None) -> None:
    """A member served their kept page (page_cache_members.py): their view counts as drawn ones do."""
    view_counts.record(thread_id, f"u{user_id}")


@bp.get("/threads/<int:thread_id>")
@bp.get("/threads/<int:thread_id>/<slug>")
@cached_for_anonymous(on_hit=_count_kept_page_view, members=True, on_member_hit=_count_kept_member_view)
def thread(thread_id: int, slug: str | None = None):
    thread, moved = _viewable_thread(thread_id)
    if moved:
        return moved
    if slug != thread.slug:
        return redirect(url_for_args("forum.thread", thread_id=thread.id, slug=thread.slug), 301)
    view_counts.record(thread.id, _viewer_key())  # written with the next batch
    levels = None
    if current_user.is_authenticated:
        read, levels = subscriptions.mark_read(current_user.id, thread)
        if read:                # tracking: no unread posts in it any more
            db.session.commit()
    return render_thread_page(thread, order="date" if request.args.get("order") == "date" else "votes",
                              levels=levels)


def render_thread_page(thread, *, order: str = "votes", reply_body: str = "", status: int = 200, levels=None):
    """The thread page, the one way it is drawn (also beside a refused answer): staff see
    hidden posts, authors their own, everyone their own votes."""
    question, accepted, answers = listings.thread_posts(
        thread, order=order, include_hidden=permissions.can_view_hidden_posts(current_user),
        viewer_id=current_user.id if current_user.is_authenticated else None)
    my_votes, watch_level, implied_level = {}, None, None
    if current_user.is_authenticated:
        ids = [p.id for p in (question, accepted, *answers) if p]
        my_votes = votes.votes_by_user(current_user.id, ids)
        levels = levels or subscriptions.page_state(current_user.id, thread)
        watch_level, implied_level = levels.own, levels.effective
    linked_ideas = idea_links.ideas_for_thread(thread.id)
    panels = thread_panels.for_thread(thread, linked_ideas)
    post_card = post_cards.Cards(current_user._get_current_object(), thread, my_votes, panels, csrf_token_for_page())
    return render_template("forum/thread.html", thread=thread, question=question,
                           accepted=accepted, answers=answers, my_votes=my_votes, order=order, post_card=post_card,
                           reply_body=reply_body, promoted_article=articles.article_for_thread(thread.id),
                           linked_ideas=linked_ideas, panels=panels,
                           helped=credit.helped_by_thread(thread.id),
                           prompt=deflection_views.prompt_for("thread", thread.id), watch_level=watch_level,
                           implied_level=implied_level,
                           duplicate=duplicates.banner(thread),
                           can_close_duplicate=permissions.can_close_as_duplicate(current_user, thread)
                           and duplicates.link_of(thread.id) is None,
                           related=related.related_threads(thread)), status


def _refusal() -> str:
    if current_user.is_authenticated and current_user.is_suspended:
        return (f"Your account is suspended until {current_user.suspended_until:%Y-%m-%d}"
                + (f": {current_user.suspension_reason}" if current_user.suspension_reason else "."))
    return "You may not do this."


def _viewer_key() -> str:
    if current_user.is_authenticated:
        return f"u{current_user.id}"
    return view_counts.anonymous_viewer(request.remote_addr, request.user_agent.string)


@bp.route("/ask", methods=["GET", "POST"])
def ask():
    """Ask the community; suggestions first (see docs/metrics.md).

    Anyone may open the page and see suggestions (it starts an ask session);
    posting needs an account: an anonymous submit keeps what was typed in the
    session and sends the visitor to log in, then back here with it.
    """
    if current_user.is_authenticated and not permissions.can_create_thread(current_user):
        abort(403, description=_refusal())
    if request.method == "POST":
        return _ask_post()
    session = ask_flow.begin_session("ask")
    form = {"title": request.args.get("title", ""), "body": "", "tags": "",
            "category_id": request.args.get("category_id", type=int)}
    if session is not None and session.draft and not form["title"]:
        draft = session.draft
        form.update(title=draft.get("title", ""), body=draft.get("body", ""), tags=draft.get("tags", ""),
                    category_id=_int(draft.get("category_id")))
    if session is not None and not form["title"] and request.args.get("resume"):
        form["title"] = ask_sessions.last_query(session.id) or ""
    suggestions = ask_flow.page_suggestions(session, "ask", form["title"])
    db.session.commit()
    return _render_ask(form, session, suggestions=suggestions)


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _render_ask(form, session, *, error=None, suggestions=(), preview=False, status=200):
    return render_template("forum/ask.html", form=form, error=error, categories=listings.categories(),
                           ask_session=session, suggestions=suggestions, preview=preview), status


def _ask_post():
    """Post the question; one commit whatever happens.

    The ask session is a fact of its own, kept even when the post fails: the
    post's writes run in a savepoint that a ``ServiceError`` rolls back alone.
    """
    session = ask_flow.form_session("ask")
    form = {"title": request.form.get("title", ""), "body": request.form.get("body", ""),
            "tags": request.form.get("tags", ""), "category_id": request.form.get("category_id", type=int)}
    if not current_user.is_authenticated:
        if session is not None:
            ask_sessions.save_draft(session, form)
        db.session.commit()
        flash("Log in or sign up to post your question. What you typed is kept.", "info")
        return redirect(url_for("auth.login", next=url_for("forum.ask")))
    outcome = commit_keeping_facts(lambda: _post_question(session, form))
    if outcome.error:
        return _render_ask(form, session, error=outcome.error, status=outcome.status)
    thread, page = outcome.value
    if thread is None:
        return page
    flash("Your question is posted. We will notify you when someone answers.", "success")
    return redirect(urls.thread_url(thread))


def _post_question(session, form):
    """``(thread, None)`` once posted, or ``(None, page)`` for the no-JS matches-first step."""
    forum_threads.clean_title(form["title"])
    forum_threads.clean_body(form["body"])
    forum_threads.parse_tags(form["tags"])
    category = forum_threads.get_category(request.form.get("category_id"))
    matches = ask_flow.needs_preview(session, "ask", form["title"])
    if matches:
        if session is not None:
            ask_sessions.save_draft(session, form)
        return None, _render_ask(form, session, suggestions=matches, preview=True)
    hit("POST_RATE_LIMIT")
    thread = forum_threads.create_thread(current_user, category, form["title"], form["body"], form["tags"])
    ask_sessions.record_question_posted(session, thread)
    return thread, None


@bp.post("/threads/<int:thread_id>/reply")
@login_required
@locks_late
def reply(thread_id: int):
    thread, moved = _viewable_thread(thread_id)
    if moved or not permissions.can_reply(current_user, thread):
        abort(403, description="This thread is locked: no new answers." if thread.locked else _refusal())
    body = request.form.get("body", "")

    def post_reply():
        hit("POST_RATE_LIMIT")
        return forum_threads.add_reply(current_user, thread, body,
                                       allowed=lambda locked: permissions.can_reply(current_user, locked)
                                       and not locked.merged_into_id)

    outcome = commit(post_reply)
    if outcome.error:
        flash(outcome.error.message, "error")
        return render_thread_page(thread, reply_body=body, status=outcome.status)
    flash("Your answer is posted.", "success")
    return redirect(urls.thread_url(thread, outcome.value.id))


def _viewable_post(post_id: int):
    """The post if the visitor may see it and its thread (a hidden post: staff and its author)."""
    post = forum_threads.get_post(post_id)
    _viewable_thread(post.thread_id)
    if not permissions.can_view_post(current_user, post):
        abort(404)
    return post


def _post_to_change(post_id: int, may) -> Post:
    """The post if its thread is viewable and ``may(user, post)`` holds; else 404 or 403."""
    post = forum_threads.get_post(post_id)
    _viewable_thread(post.thread_id)
    if not may(current_user, post):
        abort(403)
    return post


@bp.post("/posts/<int:post_id>/vote")
@csrf.exempt  # checked below for members; a visitor's vote only sends them to log in
@locks_late
def vote(post_id: int):
    """A member's vote; a visitor (whose page came from the anonymous cache, with no CSRF
    token) is sent to log in and back."""
    post = _viewable_post(post_id)
    if current_user.is_authenticated:
        if current_app.config.get("WTF_CSRF_ENABLED", True):
            csrf.protect()
    else:
        # The arrows are shown to everyone; send visitors to log in and back to
        # the thread (not to this POST-only URL, which would answer 405).
        if wants_json():
            return error_json(NotAuthenticated("Log in to vote."))
        flash("Log in to vote.", "info")
        return redirect(url_for("auth.login", next=urls.thread_url(post.thread, post.id)))
    try:
        value = int(request.form.get("value", ""))
    except ValueError:
        abort(400)
    # The page's pressed arrow sends 0: the request says the vote wanted, so
    # sending it twice (a double click, a retry) changes nothing the second time.
    refusal = permissions.vote_refusal(current_user, post, value)
    if refusal:
        if wants_json():
            return error_json(PermissionDenied(refusal))
        flash(refusal, "error")
        return redirect(urls.thread_url(post.thread, post.id))
    hit("VOTE_RATE_LIMIT")
    score = votes.set_vote(current_user, post, value, refusal=permissions.vote_refusal)
    db.session.commit()
    if wants_json():
        return jsonify({"post_id": post.id, "score": score, "vote": value})
    return redirect(urls.thread_url(post.thread, post.id))


@bp.get("/threads/<int:thread_id>/related/<int:target_id>")
def related_click(thread_id: int, target_id: int):
    """A "Related questions" link: record the click (one per visitor; not bots or prefetches),
    then go to the related thread (its URL computed here)."""
    target = related.click_target(thread_id, target_id)
    if visitors.refusal_reason() is None:
        cookie_kept = visitors.has_cookie()  # read before visitor_id() mints one
        related.record_click(thread_id, target, visitors.visitor_id(), address_key=visitors.address_key(),
                             cookie_kept=cookie_kept)
        db.session.commit()
    return redirect(urls.thread_url(target))


@bp.post("/threads/<int:thread_id>/accept")
@login_required
def accept(thread_id: int):
    thread, moved = _viewable_thread(thread_id)
    if moved or not permissions.can_accept(current_user, thread):
        abort(403)
    post_id = request.form.get("post_id", type=int)
    post = db.session.get(Post, post_id) if post_id else None
    if post_id and post is None:
        abort(404)
    accepting.accept(current_user, thread, post)
    db.session.commit()
    flash("Answer accepted: this thread is now solved." if post else "Accept withdrawn.", "success")
    return redirect(urls.thread_url(thread, post.id if post else None))


@bp.post("/threads/<int:thread_id>/duplicate")
def close_as_duplicate(thread_id: int):
    """Close the question as a duplicate of the one given in ``original`` (a number or an address)."""
    thread, moved = _viewable_thread(thread_id)
    if moved or not permissions.can_close_as_duplicate(current_user, thread):
        abort(403)
    outcome = commit(lambda: duplicates.close_as_duplicate(current_user, thread, request.form.get("original", ""),
                                                           note=request.form.get("note", "")[:500]))
    if outcome.error:
        if wants_json():
            return error_json(outcome.error)
        flash(outcome.error.message, "error")
        return render_thread_page(thread, status=outcome.error.status)
    flash("Closed as a duplicate: readers are sent on to the original question.", "success")
    return redirect(urls.thread_url(thread))


@bp.route("/posts/<int:post_id>/edit", methods=["GET", "POST"])
@login_required
def edit(post_id: int):
    post = _post_to_change(post_id, permissions.can_edit_post)
    thread = post.thread
    form = {"body": post.body, "title": thread.title, "tags": " ".join(t.name for t in thread.tags),
            "reason": ""}
    if request.method == "POST":
        form = {k: request.form.get(k, "") for k in ("body", "title", "tags", "reason")}
        outcome = commit(lambda: forum_threads.edit_post(
            current_user, post, form["body"], title=form["title"] if post.is_question else None,
            tags=form["tags"] if post.is_question else None, reason=form["reason"]))
        if outcome.error:
            return render_template("forum/edit.html", post=post, form=form, error=outcome.error), outcome.status
        flash("Your edit is saved; the previous version is kept in the history.", "success")
        return redirect(urls.thread_url(thread, post.id))
    return render_template("forum/edit.html", post=post, form=form, error=None)


@bp.get("/posts/<int:post_id>/revisions")
def revisions(post_id: int):
    post = _viewable_post(post_id)
    return render_template("forum/revisions.html", post=post, revisions=forum_threads.revisions(post.id))


@bp.post("/posts/<int:post_id>/delete")
@login_required
def delete(post_id: int):
    post = _post_to_change(post_id, permissions.can_delete_post)
    thread = post.thread
    forum_threads.delete_post(current_user, post)
    db.session.commit()
    flash("Deleted.", "info")
    if post.is_question:
        return redirect(url_for("main.home"))
    return redirect(urls.thread_url(thread))


@bp.route("/admin/categories/new", methods=["GET", "POST"])
@login_required
def new_category():
    """Admins add a category (one per product or topic)."""
    if not permissions.can_manage_categories(current_user):
        abort(403)
    form = {k: request.form.get(k, "") for k in ("name", "description")}
    if request.method == "POST":
        outcome = commit(lambda: forum_threads.create_category(form["name"], form["description"]))
        if outcome.error:
            return render_template("forum/category_new.html", form=form, error=outcome.error), outcome.status
        category = outcome.value
        flash(f"Category “{category.name}” created.", "success")
        return redirect(url_for("forum.category", slug=category.slug))
    return render_template("forum/category_new.html", form=form, error=None)
