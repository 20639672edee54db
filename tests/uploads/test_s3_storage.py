"""Image uploads in an S3-compatible bucket (``UPLOAD_S3_BUCKET``), so several app servers share them.

The bucket is served by moto's S3-compatible server, started here on 127.0.0.1 and spoken to over
real HTTP by boto3, exactly as the app speaks to MinIO or AWS (no patching of boto3 or the app).
"""
from __future__ import annotations

import io
import json
import re
import uuid

import pytest
from PIL import Image

from community import create_app
from community.models import Upload
from tests.platform import live_server
from tests.uploads.test_uploads import send
from tests.uploads.test_uploads_concurrency import _prepare

moto_server = pytest.importorskip("moto.server", reason="moto[server] is not installed (pip install -e '.[test]')")
boto3 = pytest.importorskip("boto3", reason="boto3 is not installed (pip install -e '.[s3]')")


@pytest.fixture(scope="module")
def s3_endpoint():
    port = live_server.free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def _client(endpoint: str):
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test")


@pytest.fixture()
def s3_settings(s3_endpoint):
    bucket = f"community-{uuid.uuid4().hex[:12]}"
    _client(s3_endpoint).create_bucket(Bucket=bucket)
    return {"UPLOAD_S3_BUCKET": bucket, "UPLOAD_S3_ENDPOINT_URL": s3_endpoint, "UPLOAD_S3_REGION": "us-east-1",
            "UPLOAD_S3_ACCESS_KEY_ID": "test", "UPLOAD_S3_SECRET_ACCESS_KEY": "test",
            "UPLOAD_S3_ADDRESSING_STYLE": "path", "UPLOAD_S3_PREFIX": "site-a/"}


@pytest.fixture()
def s3_app(app, s3_settings):
    app.config.update(s3_settings)
    app.extensions.pop("upload_storage", None)
    return app


@pytest.fixture()
def member(make, login):
    user = make.user("uploader")
    login(user)
    return user


def picture(size=(40, 30), colour=(10, 120, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


def objects(settings) -> dict[str, str]:
    """Every object in the bucket: key -> content type."""
    client = _client(settings["UPLOAD_S3_ENDPOINT_URL"])
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=settings["UPLOAD_S3_BUCKET"]).get("Contents", [])]
    return {key: client.head_object(Bucket=settings["UPLOAD_S3_BUCKET"], Key=key)["ContentType"] for key in keys}


def test_an_upload_goes_to_the_bucket_and_is_served_from_it(s3_app, client, member, s3_settings):
    response = send(client, picture())
    assert response.status_code == 201, response.get_json()
    url = response.get_json()["url"]
    name = url.removeprefix("/uploads/")
    assert objects(s3_settings) == {f"site-a/{name}": "image/png"}
    upload_dir = s3_app.config["UPLOAD_DIR"]
    assert not any(__import__("pathlib").Path(upload_dir).glob("*")), "nothing is written to the folder"

    served = client.get(url)
    assert served.status_code == 200 and served.mimetype == "image/png"
    assert Image.open(io.BytesIO(served.data)).size == (40, 30)
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in served.headers["Content-Security-Policy"]
    assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    again = client.get(url, headers={"If-None-Match": served.headers["ETag"]})
    assert again.status_code == 304


def test_a_wide_picture_and_its_thumbnail_are_both_in_the_bucket(s3_app, client, member, s3_settings):
    response = send(client, picture(size=(1600, 1000)))
    assert response.status_code == 201
    body = response.get_json()
    sha = body["url"].removeprefix("/uploads/").split(".")[0]
    assert sorted(objects(s3_settings)) == [f"site-a/{sha}.png", f"site-a/{sha}_t.png"]
    assert body["markdown"] == f"[![screenshot](/uploads/{sha}_t.png)](/uploads/{sha}.png)"
    thumb = client.get(f"/uploads/{sha}_t.png")
    assert thumb.status_code == 200 and Image.open(io.BytesIO(thumb.data)).size == (800, 500)


def test_a_second_app_server_serves_what_the_first_stored(s3_app, client, member, s3_settings, tmp_path):
    url = send(client, picture(colour=(250, 0, 0))).get_json()["url"]
    other = create_app({"TESTING": True, "SECRET_KEY": "test", "SERVER_NAME": "localhost",
                        "SQLALCHEMY_DATABASE_URI": s3_app.config["SQLALCHEMY_DATABASE_URI"],
                        "INSTANCE_PATH": str(tmp_path / "server-b"), "SEARCH_INDEX_DIR": str(tmp_path / "index-b"),
                        **s3_settings})
    served = other.test_client().get(url)
    assert served.status_code == 200
    assert Image.open(io.BytesIO(served.data)).getpixel((0, 0)) == (250, 0, 0)
    with other.app_context():
        from community.extensions import db

        db.engine.dispose()


def test_a_name_that_was_never_stored_is_404_even_if_the_bucket_has_it(s3_app, client, member, s3_settings):
    planted = "a" * 64 + ".png"
    _client(s3_settings["UPLOAD_S3_ENDPOINT_URL"]).put_object(
        Bucket=s3_settings["UPLOAD_S3_BUCKET"], Key=f"site-a/{planted}", Body=b"<html>", ContentType="text/html")
    assert client.get(f"/uploads/{planted}").status_code == 404


def test_storage_that_does_not_answer_is_a_503_and_stores_nothing(s3_app, client, member, db):
    s3_app.config["UPLOAD_S3_ENDPOINT_URL"] = f"http://127.0.0.1:{live_server.free_port()}"
    s3_app.extensions.pop("upload_storage", None)
    response = send(client, picture())
    assert response.status_code == 503
    assert response.get_json()["error"]["message"] == "Image storage is not answering; try again in a minute."
    assert db.session.query(Upload).count() == 0


def test_healthz_reports_the_bucket(s3_app, client, s3_settings):
    checks = client.get("/healthz").get_json()["checks"]
    assert checks["uploads"]["ok"] and checks["uploads"]["backend"] == "s3"
    s3_app.config["UPLOAD_S3_BUCKET"] = "no-such-bucket-here"
    s3_app.extensions.pop("upload_storage", None)
    answer = client.get("/healthz")
    assert answer.status_code == 503
    assert answer.get_json()["failed"] == ["uploads"]


@pytest.mark.parametrize("setting,value,message", [
    ("UPLOAD_S3_ENDPOINT_URL", "minio:9000", "UPLOAD_S3_ENDPOINT_URL must be an http(s) address"),
    ("UPLOAD_S3_ADDRESSING_STYLE", "sideways", "UPLOAD_S3_ADDRESSING_STYLE must be auto, path or virtual"),
])
def test_a_bad_storage_setting_stops_the_app_with_its_name(tmp_path, setting, value, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        create_app({"TESTING": True, "SECRET_KEY": "test", "INSTANCE_PATH": str(tmp_path),
                    "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}",
                    "UPLOAD_S3_BUCKET": "b", setting: value})


@pytest.mark.slow
@pytest.mark.skipif(not live_server.GUNICORN.exists(), reason="gunicorn is not installed")
def test_one_picture_sent_ten_times_at_once_through_gunicorn_is_one_object(s3_settings, tmp_path):
    from community.extensions import db

    config = live_server.server_config(f"sqlite:///{tmp_path / 's3.db'}", tmp_path, **s3_settings)
    _prepare(config)
    app = create_app(config)
    data = picture(colour=(1, 2, 3))
    with live_server.gunicorn(config, tmp_path, workers=4, threads=2) as base:
        member = live_server.Client(base).login("painter")
        answers = []

        def upload():
            answer = member.upload("/uploads", "file", "error.png", data, "image/png")
            answers.append(answer)
            return answer

        statuses = live_server.burst([upload] * 10)
    assert sorted(statuses) == [200] * 9 + [201], answers
    urls = {json.loads(raw)["url"] for _status, raw in answers}
    assert len(urls) == 1
    assert list(objects(s3_settings)) == [f"site-a/{urls.pop().removeprefix('/uploads/')}"]
    with app.app_context():
        assert db.session.query(Upload).count() == 1
        db.engine.dispose()
