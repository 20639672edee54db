"""The Markdown editor's server side: a preview rendered by the same sanitizer as a saved post.

``POST /preview`` (signed in, CSRF, rate limited) takes ``body`` and answers
``{"html": ...}``: exactly what the post would show, so the preview can never show
something the saved post would not.  Uploads have their own view (``uploads.py``).
"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from flask_login import current_user, login_required

from ..json_errors import error_response
from ..markup import render_markdown
from ..ratelimit import hit

bp = Blueprint("editor", __name__)


@bp.post("/preview")
@login_required
def preview():
    body = request.form.get("body", "")
    limit = current_app.config["BODY_MAX_LENGTH"]
    if len(body) > limit:
        return error_response(400, "validation_error", f"The text is {len(body):,} characters; the most a post "
                              f"may have is {limit:,}.", "body")
    hit("PREVIEW_RATE_LIMIT", key=f"user:{current_user.id}")
    return jsonify({"html": render_markdown(body)})
