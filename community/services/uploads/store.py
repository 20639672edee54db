"""A member stores an image: size and rate limits, re-encoding, one row per picture per member.

Callers commit.  The same picture sent ten times at once is stored once: the row is
an insert guarded by ``uq_uploads_user_sha`` (a savepoint absorbs the losing inserts).
"""
from __future__ import annotations

import hashlib

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ...extensions import db
from ...models import Upload
from ...ratelimit import hit
from ..errors import PermissionDenied, ValidationError
from . import images, storage

NAME_MAX = 200


#: The file of a stored image's thumbnail: ``<sha256>_t.<ext>`` beside ``<sha256>.<ext>``.
THUMBNAIL_SUFFIX = "_t"


def store(user, raw: bytes, original_name: str = "") -> tuple[Upload, bool]:
    """Validate, re-encode and keep ``raw`` for ``user``: ``(upload, created)`` (False when this
    member had stored the same picture before).  A picture wider than ``UPLOAD_THUMB_WIDTH`` also
    gets a thumbnail, which posts show (``markdown_for``)."""
    config = _checked(user, raw)
    encoded = images.reencode(raw, max_pixels=config["UPLOAD_MAX_PIXELS"], max_side=config["UPLOAD_MAX_SIDE"])
    small = images.thumbnail(encoded, width=config["UPLOAD_THUMB_WIDTH"])
    return _keep(user, encoded, original_name, thumbnail=small)


def store_avatar(user, raw: bytes) -> Upload:
    """The same rules as ``store``, kept as a square of ``AVATAR_SIZE`` pixels (``images.square``)."""
    config = _checked(user, raw)
    encoded = images.square(raw, max_pixels=config["UPLOAD_MAX_PIXELS"], side=config["AVATAR_SIZE"])
    return _keep(user, encoded, "avatar")[0]


def _checked(user, raw: bytes):
    """Who may upload, the size limit and the rate limit: before any decoding."""
    if getattr(user, "is_suspended", False):
        raise PermissionDenied("Your account is suspended: you cannot upload images.")
    config = current_app.config
    limit = config["UPLOAD_MAX_BYTES"]
    if not raw:
        raise ValidationError("Choose an image to upload.", field="file")
    if len(raw) > limit:
        raise ValidationError(f"That file is {len(raw) / 1048576:.1f} MB; images may be at most "
                              f"{limit / 1048576:.0f} MB.", field="file")
    hit("UPLOAD_RATE_LIMIT", key=f"user:{user.id}")
    return config


def _keep(user, encoded, original_name: str, thumbnail=None) -> tuple[Upload, bool]:
    """The file (named by its hash), its thumbnail if any, and one row per picture per member,
    race-safe."""
    sha = hashlib.sha256(encoded.data).hexdigest()
    storage.save(f"{sha}.{encoded.ext}", encoded.data, encoded.content_type)
    if thumbnail is not None:
        storage.save(f"{sha}{THUMBNAIL_SUFFIX}.{thumbnail.ext}", thumbnail.data, thumbnail.content_type)
    existing = _find(user.id, sha)
    if existing is not None:
        return existing, False
    upload = Upload(user_id=user.id, sha256=sha, ext=encoded.ext, content_type=encoded.content_type,
                    width=encoded.width, height=encoded.height, size=len(encoded.data),
                    original_name=" ".join((original_name or "").split())[:NAME_MAX])
    try:
        with db.session.begin_nested():
            db.session.add(upload)
    except IntegrityError:
        return _find(user.id, sha), False
    return upload, True


def _find(user_id: int, sha: str) -> Upload | None:
    return db.session.execute(select(Upload).where(Upload.user_id == user_id, Upload.sha256 == sha)).scalar_one_or_none()


def by_filename(filename: str) -> Upload | None:
    """The upload a URL names (``<sha256>.<ext>``, or its thumbnail ``<sha256>_t.<ext>``), if one
    was stored."""
    sha, _, ext = filename.partition(".")
    sha = sha.removesuffix(THUMBNAIL_SUFFIX)
    if len(sha) != 64 or not all(c in "0123456789abcdef" for c in sha) or not ext:
        return None
    return db.session.execute(select(Upload).where(Upload.sha256 == sha, Upload.ext == ext).limit(1)).scalar_one_or_none()


def thumbnail_url(upload: Upload) -> str | None:
    """Where the upload's thumbnail is served, when it has one."""
    name = f"{upload.sha256}{THUMBNAIL_SUFFIX}.{upload.ext}"
    return f"/uploads/{name}" if storage.exists(name) else None


def markdown_for(upload: Upload) -> str:
    """What the editor inserts: the image, or its thumbnail linking to the full picture."""
    alt = upload.original_name.rsplit(".", 1)[0].replace("]", "").replace("[", "") or "image"
    small = thumbnail_url(upload)
    return f"[![{alt}]({small})]({upload.url})" if small else f"![{alt}]({upload.url})"
