"""Image uploads from the editor (button, paste, drop) and serving what was stored.

``POST /uploads`` takes one ``file`` (multipart) and answers JSON ``{url, markdown,
width, height}`` (201, or 200 when this member had stored that picture already);
errors are the JSON envelope.  ``GET /uploads/<name>`` serves a stored image with
headers that keep a browser from reading it as anything but that image.
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, request, send_file
from flask_login import current_user, login_required

from ..services.errors import Unavailable
from ..services.uploads import storage, store
from .actions import commit, error_json

bp = Blueprint("uploads", __name__)


@bp.post("/uploads")
@login_required
def upload():
    file = request.files.get("file")
    # Read one byte past the limit at most: the service then refuses it with its size.
    raw = file.read(current_app.config["UPLOAD_MAX_BYTES"] + 1) if file else b""
    outcome = commit(lambda: store.store(current_user, raw, file.filename if file else ""))
    if outcome.error:
        return error_json(outcome.error)
    upload, created = outcome.value
    return jsonify({"url": upload.url, "markdown": store.markdown_for(upload), "width": upload.width,
                    "height": upload.height}), 201 if created else 200


@bp.get("/uploads/<name>")
def serve(name: str):
    upload = store.by_filename(name)
    try:
        stored = storage.open_file(name) if upload is not None else None
    except Unavailable as error:
        abort(503, error.message)
    if stored is None:
        abort(404)
    # Names are hashes of the bytes: the name is the entity tag, and never changes content.
    response = send_file(stored, mimetype=upload.content_type, max_age=31536000, conditional=True,
                         etag=name.partition(".")[0], last_modified=upload.created_at)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    response.headers["Content-Disposition"] = "inline"
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response
