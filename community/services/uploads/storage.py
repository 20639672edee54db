"""Where stored images live: a folder (``UPLOAD_DIR``, default ``instance/uploads``), or an
S3-compatible bucket when ``UPLOAD_S3_BUCKET`` is set, so that several app servers share them.

Files are named by the hash of their bytes, so storing is idempotent: two workers storing
the same picture write the same object, and a name once stored never changes content.
Both backends answer the same four calls; the rest of the app never knows which one it has.
"""
from __future__ import annotations

from typing import BinaryIO, Protocol

from flask import current_app


class Storage(Protocol):
    def save(self, filename: str, data: bytes, content_type: str) -> None: ...
    def exists(self, filename: str) -> bool: ...
    def open(self, filename: str) -> BinaryIO | None: ...
    def delete(self, filename: str) -> None: ...
    def check(self) -> dict: ...


def backend() -> Storage:
    """This app's storage, built once from its settings."""
    extensions = current_app.extensions
    if "upload_storage" not in extensions:
        config = current_app.config
        if config.get("UPLOAD_S3_BUCKET"):
            from .s3_storage import S3Storage

            extensions["upload_storage"] = S3Storage.from_config(config)
        else:
            from .folder_storage import FolderStorage

            extensions["upload_storage"] = FolderStorage(config["UPLOAD_DIR"])
    return extensions["upload_storage"]


def save(filename: str, data: bytes, content_type: str) -> None:
    backend().save(filename, data, content_type)


def exists(filename: str) -> bool:
    return backend().exists(filename)


def open_file(filename: str) -> BinaryIO | None:
    """The stored bytes as a file to read, or None (the caller checks the name against the
    database first)."""
    return backend().open(filename)


def delete(filename: str) -> None:
    backend().delete(filename)
