"""Images in an S3-compatible bucket (AWS S3, MinIO, Ceph, R2, ...), for sites on several app
servers without a shared drive.

Objects are ``UPLOAD_S3_PREFIX`` + the file's name.  The app still serves them itself
(``GET /uploads/<name>``), so the same checks (only recorded names) and the same safe headers
apply, and pages keep loading images from their own origin (CSP ``img-src 'self'``).  Names
are hashes of the bytes, so a write that two workers race on stores the same object.
"""
from __future__ import annotations

import io
import logging
from contextlib import contextmanager
from typing import BinaryIO

from ..errors import Unavailable

log = logging.getLogger(__name__)


class S3Storage:
    def __init__(self, client, bucket: str, prefix: str = ""):
        self.client, self.bucket, self.prefix = client, bucket, prefix

    @classmethod
    def from_config(cls, config) -> "S3Storage":
        import boto3
        from botocore.config import Config

        client = boto3.client(
            "s3",
            endpoint_url=config.get("UPLOAD_S3_ENDPOINT_URL") or None,
            region_name=config.get("UPLOAD_S3_REGION") or None,
            # Unset keys fall back to boto3's own chain (environment, instance role, ...).
            aws_access_key_id=config.get("UPLOAD_S3_ACCESS_KEY_ID") or None,
            aws_secret_access_key=config.get("UPLOAD_S3_SECRET_ACCESS_KEY") or None,
            config=Config(connect_timeout=5, read_timeout=20, retries={"max_attempts": 3},
                          s3={"addressing_style": config.get("UPLOAD_S3_ADDRESSING_STYLE") or "auto"}),
        )
        return cls(client, config["UPLOAD_S3_BUCKET"], config.get("UPLOAD_S3_PREFIX") or "")

    def _key(self, filename: str) -> str:
        return f"{self.prefix}{filename}"

    def save(self, filename: str, data: bytes, content_type: str) -> None:
        if self.exists(filename):
            return
        with _answering("store", filename):
            self.client.put_object(Bucket=self.bucket, Key=self._key(filename), Body=data,
                                   ContentType=content_type, CacheControl="public, max-age=31536000, immutable")

    def exists(self, filename: str) -> bool:
        with _answering("look up", filename, missing=True) as missing:
            self.client.head_object(Bucket=self.bucket, Key=self._key(filename))
        return not missing

    def open(self, filename: str) -> BinaryIO | None:
        with _answering("read", filename, missing=True) as missing:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(filename))
            with answer["Body"] as body:
                return io.BytesIO(body.read())
        assert missing
        return None

    def delete(self, filename: str) -> None:
        with _answering("delete", filename):
            self.client.delete_object(Bucket=self.bucket, Key=self._key(filename))

    def check(self) -> dict:
        """What ``/healthz`` reports; raises Unavailable when the bucket does not answer to these settings."""
        with _answering("reach the bucket", self.bucket):
            self.client.head_bucket(Bucket=self.bucket)
        return {"backend": "s3", "bucket": self.bucket}


class _Missing:
    """Set by ``_answering(missing=True)`` when the object does not exist (a 404)."""

    def __init__(self):
        self.value = False

    def __bool__(self) -> bool:
        return self.value


@contextmanager
def _answering(action: str, name: str, *, missing: bool = False):
    """Turn the bucket's failures into ``Unavailable`` (503, "try again"), logged for the admin;
    with ``missing``, a 404 is an answer (the object is not there), not a failure."""
    from botocore.exceptions import BotoCoreError, ClientError

    flag = _Missing()
    try:
        yield flag
    except ClientError as error:
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if missing and status == 404:
            flag.value = True
            return
        log.error("S3 upload storage could not %s %s: %s", action, name, error)
        raise Unavailable("Image storage is not answering; try again in a minute.") from error
    except BotoCoreError as error:
        log.error("S3 upload storage could not %s %s: %s", action, name, error)
        raise Unavailable("Image storage is not answering; try again in a minute.") from error
