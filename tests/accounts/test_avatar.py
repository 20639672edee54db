"""Avatars: an upload re-encoded by Pillow and cropped to a centred square, or a generated one."""
from __future__ import annotations

import io

from PIL import Image

from community.models import User


def _picture(size, fmt="JPEG", exif=False) -> bytes:
    """A wide picture: red on the left third, green in the middle, blue on the right."""
    width, height = size
    image = Image.new("RGB", size, (0, 200, 0))
    image.paste((220, 0, 0), (0, 0, width // 3, height))
    image.paste((0, 0, 220), (2 * width // 3, 0, width, height))
    out = io.BytesIO()
    options = {}
    if exif:
        data = Image.Exif()
        data[0x010F] = "SecretCam"        # Make
        options["exif"] = data.tobytes()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def _upload(client, raw, name="me.jpg"):
    return client.post("/settings/avatar", data={"file": (io.BytesIO(raw), name)},
                       content_type="multipart/form-data")


def test_an_uploaded_avatar_is_a_centred_square_without_metadata(client, make, login, db, app):
    carol = make.user("carol")
    login(carol)
    r = _upload(client, _picture((900, 300), exif=True))
    assert r.status_code == 302
    db.session.refresh(carol)
    assert carol.avatar and carol.avatar.endswith(".jpg")
    served = client.get(f"/uploads/{carol.avatar}")
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    image = Image.open(io.BytesIO(served.data))
    side = app.config["AVATAR_SIZE"]
    assert image.size == (side, side)
    assert b"SecretCam" not in served.data and not image.getexif()
    # the middle third (green) was kept: the crop is centred
    r_, g, b = image.getpixel((side // 2, side // 2))
    assert g > 150 and r_ < 60 and b < 60
    left_edge = image.getpixel((2, side // 2))
    assert left_edge[1] > 150, "a centred crop of a 3:1 picture holds only its middle third"
    profile = client.get("/users/carol").get_data(as_text=True)
    assert f'src="/uploads/{carol.avatar}"' in profile


def test_a_png_avatar_stays_png_and_removing_it_brings_back_the_generated_one(client, make, login, db):
    carol = make.user("carol")
    login(carol)
    assert _upload(client, _picture((100, 400), fmt="PNG"), "me.png").status_code == 302
    db.session.refresh(carol)
    assert carol.avatar.endswith(".png")
    assert Image.open(io.BytesIO(client.get(f"/uploads/{carol.avatar}").data)).size == (256, 256)
    assert client.post("/settings/avatar", data={"remove": "1"}).status_code == 302
    db.session.refresh(carol)
    assert carol.avatar is None
    profile = client.get("/users/carol").get_data(as_text=True)
    assert f'avatar-hue-{carol.id % 8}" aria-hidden="true">C<' in profile


def test_a_file_that_is_not_an_image_is_refused_beside_the_field(client, make, login, db):
    carol = make.user("carol")
    login(carol)
    r = _upload(client, b"<svg xmlns='http://www.w3.org/2000/svg'/>", "me.svg")
    assert r.status_code == 400 and "not an image we can read" in r.get_data(as_text=True)
    assert db.session.get(User, carol.id).avatar is None


def test_a_suspended_member_cannot_change_their_avatar(client, make, login, db):
    from datetime import timedelta

    from community.models import utcnow

    carol = make.user("carol")
    login(carol)
    carol.suspended_until = utcnow() + timedelta(days=2)
    db.session.commit()
    assert _upload(client, _picture((50, 50))).status_code == 403
