"""Where stored images live: a folder (``UPLOAD_DIR``, default ``instance/uploads``).

Files are named by the hash of their bytes and written atomically (a temporary file,
then a rename), so a half-written image is never served and two workers storing the
same picture write the same file.  Several app servers share uploads by pointing
``UPLOAD_DIR`` at shared storage (docs/deploy.md); an object-store adapter would
implement the same two functions.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from flask import current_app


def folder() -> Path:
    path = Path(current_app.config["UPLOAD_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def save(filename: str, data: bytes) -> None:
    target = folder() / filename
    if target.exists():
        return
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def path_of(filename: str) -> Path | None:
    """The stored file, or None (the name is checked by the caller against the database)."""
    path = folder() / filename
    return path if path.is_file() else None
