"""Image uploads through HTTP: content-checked, re-encoded without metadata, limited, served safely."""
from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from community.models import Upload


def picture(fmt="PNG", size=(40, 30), **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(out, format=fmt, **save)
    return out.getvalue()


def send(client, data: bytes, name="screenshot.png"):
    return client.post("/uploads", data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data",
                       headers={"Accept": "application/json"})


@pytest.fixture()
def member(make, login):
    user = make.user("uploader")
    login(user)
    return user


@pytest.mark.parametrize("fmt,ext", [("PNG", "png"), ("JPEG", "jpg"), ("GIF", "gif"), ("WEBP", "webp")])
def test_each_accepted_format_is_stored_and_served_as_itself(client, member, db, fmt, ext):
    response = send(client, picture(fmt), f"error.{ext}")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["url"].startswith("/uploads/") and body["url"].endswith(f".{ext}")
    assert body["markdown"] == f"![error]({body['url']})" and (body["width"], body["height"]) == (40, 30)
    served = client.get(body["url"])
    assert served.status_code == 200 and served.mimetype == Image.MIME[fmt]
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in served.headers["Content-Security-Policy"]
    assert Image.open(io.BytesIO(served.data)).format == fmt


def test_the_same_picture_twice_is_one_upload(client, member, db):
    data = picture()
    first, second = send(client, data), send(client, data)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.get_json()["url"] == second.get_json()["url"]
    assert db.session.query(Upload).count() == 1


def test_metadata_and_trailing_data_are_gone(client, member, db):
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"          # Make
    exif[0x8825] = {2: (51.0, 30.0, 0.0)}  # GPS
    out = io.BytesIO()
    Image.new("RGB", (20, 20), (1, 2, 3)).save(out, format="JPEG", exif=exif.tobytes())
    tainted = out.getvalue() + b"<script>alert(1)</script>" + b"PK\x03\x04zip-polyglot"
    response = send(client, tainted, "photo.jpg")
    assert response.status_code == 201
    stored = client.get(response.get_json()["url"]).data
    assert b"SecretCam" not in stored and b"<script>" not in stored and b"PK\x03\x04" not in stored
    assert not Image.open(io.BytesIO(stored)).getexif()


def test_what_is_not_an_image_is_refused_with_a_message(client, member):
    for data, name in ((b"<svg xmlns='http://www.w3.org/2000/svg'/>", "x.svg"), (b"GIF89a" + b"\0" * 20, "x.gif"),
                       (b"%PDF-1.4 not an image", "x.png"), (b"", "empty.png")):
        response = send(client, data, name)
        assert response.status_code == 400, name
        assert response.get_json()["error"]["field"] == "file"
    bmp = io.BytesIO()
    Image.new("RGB", (5, 5)).save(bmp, format="BMP")
    refused = send(client, bmp.getvalue(), "x.bmp")
    assert refused.status_code == 400 and "PNG, JPEG, GIF or WebP" in refused.get_json()["error"]["message"]


def test_a_decompression_bomb_is_refused_before_it_is_decoded(client, member, app):
    """A 20,000 × 20,000 PNG header (400 million pixels) in a file of a few hundred bytes."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    bomb = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b""))
    response = send(client, bomb, "bomb.png")
    assert response.status_code == 400
    assert "too many pixels" in response.get_json()["error"]["message"]


def test_an_image_over_the_pixel_limit_is_refused_with_its_size(client, member, app):
    app.config["UPLOAD_MAX_PIXELS"] = 1000
    response = send(client, picture(size=(50, 40)))
    assert response.status_code == 400
    assert "50 × 40 pixels" in response.get_json()["error"]["message"]


def test_large_images_are_scaled_down_and_big_files_refused(client, member, app):
    app.config["UPLOAD_MAX_SIDE"] = 100
    body = send(client, picture(size=(400, 200))).get_json()
    assert (body["width"], body["height"]) == (100, 50)
    app.config["UPLOAD_MAX_BYTES"] = 1000
    big = send(client, picture("PNG", size=(300, 300), compress_level=0))
    assert big.status_code == 400 and "at most" in big.get_json()["error"]["message"]


def test_uploading_needs_an_active_account_and_unknown_names_are_404(client, make, login):
    assert send(client, picture()).status_code in (302, 401)
    suspended = make.user("suspended")
    from community.services.moderation import suspensions
    from community.extensions import db as _db
    suspensions.suspend(make.user("mod", role="moderator"), suspended, "spam", 7)
    _db.session.commit()
    login(suspended)
    assert send(client, picture()).status_code == 403
    assert client.get("/uploads/" + "0" * 64 + ".png").status_code == 404
    assert client.get("/uploads/../../etc/passwd").status_code == 404


def test_an_uploaded_image_shows_in_a_post_and_a_remote_one_does_not(client, member, make, db):
    url = send(client, picture()).get_json()["url"]
    thread = make.thread(author=member, body=f"It looks like this: ![error]({url}) and ![x](https://tracker.example/p.gif)")
    page = client.get(f"/threads/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert f'<img alt="error" src="{url}">' in page or f'src="{url}"' in page
    assert 'src="https://tracker.example/p.gif"' not in page


def test_preview_is_what_the_saved_post_would_show(client, member, app):
    response = client.post("/preview", data={"body": "**Bold** <script>alert(1)</script> [x](javascript:alert(1))"},
                           headers={"Accept": "application/json"})
    assert response.status_code == 200
    html = response.get_json()["html"]
    assert "<strong>Bold</strong>" in html and "<script>" not in html and "javascript:" not in html
    app.config["BODY_MAX_LENGTH"] = 10
    too_long = client.post("/preview", data={"body": "x" * 11}, headers={"Accept": "application/json"})
    assert too_long.status_code == 400 and too_long.get_json()["error"]["field"] == "body"


def test_preview_needs_an_account(client):
    assert client.post("/preview", data={"body": "hi"}).status_code in (302, 401)


@pytest.mark.parametrize("fmt,ext", [("PNG", "png"), ("JPEG", "jpg"), ("WEBP", "webp")])
def test_a_wide_screenshot_gets_a_thumbnail_that_links_to_the_full_image(client, member, db, app, fmt, ext):
    app.config["UPLOAD_THUMB_WIDTH"] = 800
    body = send(client, picture(fmt, size=(1600, 1000)), f"dashboard.{ext}").get_json()
    assert (body["width"], body["height"]) == (1600, 1000)
    full = body["url"]
    thumb = full.replace(f".{ext}", f"_t.{ext}")
    assert body["markdown"] == f"[![dashboard]({thumb})]({full})"
    served = client.get(thumb)
    assert served.status_code == 200 and served.mimetype == Image.MIME[fmt]
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert Image.open(io.BytesIO(served.data)).size == (800, 500)
    assert Image.open(io.BytesIO(client.get(full).data)).size == (1600, 1000)
    # In a post the thumbnail shows, inside a link to the full picture (the sanitizer keeps both).
    from community.markup import render_markdown

    html = render_markdown(body["markdown"])
    assert f'<a href="{full}"' in html and f'<img alt="dashboard" src="{thumb}"' in html


def test_no_thumbnail_for_a_narrow_picture_or_a_gif(client, member, app):
    app.config["UPLOAD_THUMB_WIDTH"] = 800
    narrow = send(client, picture("PNG", size=(640, 480))).get_json()
    assert narrow["markdown"] == f"![screenshot]({narrow['url']})"
    assert client.get(narrow["url"].replace(".png", "_t.png")).status_code == 404
    gif = send(client, picture("GIF", size=(1600, 1000)), "anim.gif").get_json()
    assert gif["markdown"] == f"![anim]({gif['url']})"
    assert client.get(gif["url"].replace(".gif", "_t.gif")).status_code == 404
    # A thumbnail name for a picture nobody stored is a 404 too.
    assert client.get("/uploads/" + "b" * 64 + "_t.png").status_code == 404
