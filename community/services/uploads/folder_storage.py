"""Images in a folder: the default, and what several app servers share through a network drive.

Written atomically (a temporary file, then a rename), so a half-written image is never served.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO


class FolderStorage:
    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)

    def _path(self, filename: str) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        return self.folder / filename

    def save(self, filename: str, data: bytes, content_type: str) -> None:
        target = self._path(filename)
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

    def exists(self, filename: str) -> bool:
        return self._path(filename).is_file()

    def open(self, filename: str) -> BinaryIO | None:
        try:
            return self._path(filename).open("rb")
        except (FileNotFoundError, IsADirectoryError):
            return None

    def delete(self, filename: str) -> None:
        self._path(filename).unlink(missing_ok=True)

    def check(self) -> dict:
        """What ``/healthz`` reports: the folder exists (or can be made) and this process may write it."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if not os.access(self.folder, os.W_OK):
            return {"backend": "folder", "problem": f"{self.folder} is not writable by the app"}
        return {"backend": "folder"}
