"""Decide whether bytes are a picture we accept, and re-encode them with Pillow.

The format is read from the content, never from the name or the declared type; the
pixel count is checked from the header before any decoding (a decompression bomb is
a small file); the stored bytes are Pillow's own encoding of the pixels, so EXIF and
other metadata, trailing data and polyglot payloads are gone.  Animated GIFs keep
their first frame only.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from ...models.uploads import UPLOAD_FORMATS
from ..errors import ValidationError

CONTENT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}


@dataclass(frozen=True)
class Encoded:
    data: bytes
    format: str          # PNG, JPEG, GIF, WEBP
    ext: str
    content_type: str
    width: int
    height: int


def reencode(raw: bytes, *, max_pixels: int, max_side: int) -> Encoded:
    """The stored form of ``raw``; ``ValidationError`` (field ``file``) for anything else."""
    image, fmt = _open(raw, max_pixels)
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side))
    return _encode(image, fmt)


def thumbnail(stored: Encoded, *, width: int) -> Encoded | None:
    """A smaller copy of a stored image for showing in a post (the full one is a click away), or
    None when it is no wider than ``width`` or is a GIF (re-scaling a palette image bands it).
    ``stored`` is our own encoding, so it is decoded without the upload checks again."""
    if stored.width <= width or stored.format == "GIF":
        return None
    image = Image.open(io.BytesIO(stored.data))
    image.load()
    image.thumbnail((width, max(1, round(stored.height * width / stored.width))), Image.Resampling.LANCZOS)
    return _encode(image, stored.format)


def square(raw: bytes, *, max_pixels: int, side: int) -> Encoded:
    """An avatar: the same checks as ``reencode``, then the centre cropped square and scaled to
    ``side`` pixels.  JPEG stays JPEG; anything else becomes PNG (a GIF's palette would band)."""
    image, fmt = _open(raw, max_pixels)
    fmt = "JPEG" if fmt == "JPEG" else "PNG"
    image = image.convert("RGB" if fmt == "JPEG" else "RGBA")
    return _encode(ImageOps.fit(image, (side, side), method=Image.Resampling.LANCZOS), fmt)


def _open(raw: bytes, max_pixels: int) -> tuple[Image.Image, str]:
    """The decoded pixels of an accepted picture, upright, without metadata, and its format."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(raw))
            fmt = probe.format
            width, height = probe.size
            if fmt not in UPLOAD_FORMATS:
                raise ValidationError("Upload a PNG, JPEG, GIF or WebP image.", field="file")
            if width * height > max_pixels:
                raise ValidationError(f"That image is {width:,} × {height:,} pixels; the most we accept is "
                                      f"{max_pixels:,} pixels in all.", field="file")
            probe.verify()                       # structure check; the object is unusable afterwards
            image = Image.open(io.BytesIO(raw))
            image.seek(0)
            image.load()
    except ValidationError:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):  # Pillow's own guard, at open
        raise ValidationError(f"That image has too many pixels; the most we accept is {max_pixels:,} "
                              f"pixels in all.", field="file") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise ValidationError("That file is not an image we can read (PNG, JPEG, GIF or WebP).",
                              field="file") from None
    image = ImageOps.exif_transpose(image)       # keep the orientation the camera meant, drop the EXIF
    return _pixels_only(image, fmt), fmt


def _encode(image: Image.Image, fmt: str) -> Encoded:
    out = io.BytesIO()
    options = {"JPEG": {"quality": 88, "optimize": True}, "PNG": {"optimize": True},
               "WEBP": {"quality": 88}, "GIF": {}}[fmt]
    image.save(out, format=fmt, **options)
    return Encoded(out.getvalue(), fmt, UPLOAD_FORMATS[fmt], CONTENT_TYPES[fmt], *image.size)


def _pixels_only(image: Image.Image, fmt: str) -> Image.Image:
    """A fresh image holding only the pixels (no info dict, no ICC/EXIF chunks)."""
    if fmt == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    elif fmt == "GIF" and image.mode not in ("P", "L"):
        image = image.convert("P")
    elif image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
        image = image.convert("RGBA")
    clean = Image.new(image.mode, image.size)
    if image.mode == "P":
        clean.putpalette(image.getpalette())
        if "transparency" in image.info and isinstance(image.info["transparency"], int):
            clean.info["transparency"] = image.info["transparency"]
    clean.paste(image)
    return clean
