"""Photos on posts: every upload is decoded and re-encoded before anything is stored.

A person's file is never stored or served as sent. Pillow opens it (only JPEG, PNG, WebP
and GIF are accepted), the size in pixels is checked from the header before any pixel is
decoded (a small file can declare a gigapixel image: a decompression bomb), the EXIF
orientation is applied, the picture is scaled to at most ``POST_IMAGE_MAX_SIDE`` pixels a
side and written again as WebP without its metadata (camera serial, GPS position, ICC and
XMP blocks are all left behind). What comes out is an image we wrote, so a file that is
both a picture and an HTML page or a script cannot be served back as the latter.

``images_prepare`` does the CPU work and every check up front, outside any transaction;
``posts.services.post_create`` then stores the prepared bytes with the post, in its
transaction. Errors carry the field and the photo's position (``details``), so a form can
say which photo was wrong.
"""

from __future__ import annotations

import io
import secrets
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError

from core.exceptions import ValidationFailed
from core.text import text_clean
from posts.models import IMAGE_ALT_MAX_LENGTH, POST_IMAGE_MAX_SIDE, POST_IMAGES_MAX, PostImage

IMAGE_MAX_BYTES = 10 * 1024 * 1024
# 40 megapixels: more than any phone camera takes, far below what would exhaust memory
# when decoded (40 M times 4 bytes = 160 MB at worst, once, for one upload at a time).
IMAGE_MAX_PIXELS = 40_000_000
ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF"})
WEBP_QUALITY = 82
# libwebp's effort, 0..6: 2 encodes a 12 MP photo's 2048 px copy about four times faster
# than the default 4 (0.3 s against 1.3 s here) for files about 1 % larger.
WEBP_METHOD = 2


class ImageInvalid(ValidationFailed):
    code = "image_invalid"
    default_message = _("That file is not a picture we can read. Use JPEG, PNG, WebP or GIF.")


class ImageTooLarge(ValidationFailed):
    code = "image_too_large"
    default_message = format_lazy(
        _("Photos are at most {size} MB each."), size=IMAGE_MAX_BYTES // (1024 * 1024)
    )


class ImageTooManyPixels(ValidationFailed):
    code = "image_too_many_pixels"
    default_message = format_lazy(
        _("That photo has too many pixels. Use one of at most {count} megapixels."),
        count=IMAGE_MAX_PIXELS // 1_000_000,
    )


class TooManyImages(ValidationFailed):
    code = "too_many_images"
    default_message = format_lazy(_("A post has at most {count} photos."), count=POST_IMAGES_MAX)


class ImageAltMissing(ValidationFailed):
    code = "image_alt_missing"
    default_message = _(
        "Describe each photo for people who cannot see it (alt text): it is required."
    )


@dataclass(frozen=True)
class ImageUpload:
    """What a form or the API hands over: an uploaded file and the alt text typed for it."""

    file: Any  # a Django UploadedFile (anything with ``size`` and ``read``)
    alt: str


@dataclass(frozen=True)
class PreparedImage:
    """A photo as we re-encoded it, ready to store. Only ``images_prepare`` makes these."""

    content: bytes
    width: int
    height: int
    alt: str


def images_prepare(*, uploads: Sequence[ImageUpload]) -> list[PreparedImage]:
    """Check and re-encode every photo of a post, in order, before anything is written.

    Raises ``TooManyImages``, and for the photo at ``details["index"]``:
    ``ImageAltMissing``, ``TextInvalid`` / ``TextTooLong`` (alt text), ``ImageTooLarge``
    (bytes), ``ImageTooManyPixels`` (a decompression bomb or just too big), ``ImageInvalid``
    (not an image, or a format we do not take).
    """
    if len(uploads) > POST_IMAGES_MAX:
        raise TooManyImages(details={"field": "images", "max": POST_IMAGES_MAX})
    prepared = []
    for index, upload in enumerate(uploads):
        where = {"field": "images", "index": index}
        alt = _alt_clean(upload.alt, index=index)
        prepared.append(_reencode(upload.file, alt=alt, where=where))
    return prepared


def image_prepare(*, upload: ImageUpload, field: str) -> PreparedImage:
    """Check and re-encode one photo outside a post (a product's photo), the same way as
    a post's. Raises what ``images_prepare`` raises, with ``details["field"]`` = ``field``."""
    try:
        alt = _alt_clean(upload.alt, index=0)
    except ValidationFailed as exc:
        exc.details = {**exc.details, "field": field}
        raise
    return _reencode(upload.file, alt=alt, where={"field": field})


def image_content(prepared: PreparedImage) -> ContentFile:
    """The re-encoded bytes as a file to save under a random name (the URL says nothing
    about who sent it or where it belongs)."""
    return ContentFile(prepared.content, name=f"{secrets.token_urlsafe(16)}.webp")


def _alt_clean(alt: Any, *, index: int) -> str:
    try:
        alt = text_clean(
            value=alt or "", max_length=IMAGE_ALT_MAX_LENGTH, field="alt", allow_newlines=False
        )
    except ValidationFailed as exc:
        exc.details = {**exc.details, "field": "alt", "index": index}
        raise
    if not alt:
        raise ImageAltMissing(details={"field": "alt", "index": index})
    return alt


def _reencode(file: Any, *, alt: str, where: dict) -> PreparedImage:
    size = getattr(file, "size", None)
    if size is None or not hasattr(file, "read"):
        raise ImageInvalid(details=where)
    if size > IMAGE_MAX_BYTES:
        raise ImageTooLarge(details={**where, "max_bytes": IMAGE_MAX_BYTES})
    data = file.read(IMAGE_MAX_BYTES + 1)
    if len(data) > IMAGE_MAX_BYTES:
        raise ImageTooLarge(details={**where, "max_bytes": IMAGE_MAX_BYTES})
    try:
        # Pillow's own bomb check only warns below twice its limit: make the warning an
        # error, though our smaller limit below is checked first from the header.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.format not in ACCEPTED_FORMATS:
                    raise ImageInvalid(details=where)
                if image.width * image.height > IMAGE_MAX_PIXELS:
                    raise ImageTooManyPixels(details={**where, "max_pixels": IMAGE_MAX_PIXELS})
                image.seek(0)  # the first frame of an animation
                # A JPEG can be decoded at 1/2, 1/4 or 1/8 of its size straight from the
                # file (never below the bound): a 12 MP photo decodes several times faster.
                image.draft("RGB", (POST_IMAGE_MAX_SIDE, POST_IMAGE_MAX_SIDE))
                # Turn the picture as the camera's orientation tag says (the tag goes).
                shown = ImageOps.exif_transpose(image)
                has_alpha = shown.mode in ("RGBA", "LA", "PA") or (
                    shown.mode == "P" and "transparency" in shown.info
                )
                shown = shown.convert("RGBA" if has_alpha else "RGB")
                shown.thumbnail(
                    (POST_IMAGE_MAX_SIDE, POST_IMAGE_MAX_SIDE), Image.Resampling.LANCZOS
                )
                out = io.BytesIO()
                # No exif=, icc_profile= or xmp=: nothing of the original's metadata is written.
                shown.save(out, format="WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageTooManyPixels(details={**where, "max_pixels": IMAGE_MAX_PIXELS}) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        # Truncated or corrupt data surfaces as any of these while decoding.
        raise ImageInvalid(details=where) from None
    return PreparedImage(content=out.getvalue(), width=shown.width, height=shown.height, alt=alt)


def images_store(*, post_id: int, images: Sequence[PreparedImage]) -> list[PostImage]:
    """Write the prepared photos of a new post, in the caller's transaction.

    Storage is not transactional, so the files are written before the rows: a post whose
    transaction rolls back leaves at most ``POST_IMAGES_MAX`` orphan files behind, never
    a row pointing at a missing file.
    """
    rows = []
    now = timezone.now()
    for position, prepared in enumerate(images):
        row = PostImage(
            post_id=post_id,
            position=position,
            width=prepared.width,
            height=prepared.height,
            alt=prepared.alt,
            created_at=now,
        )
        content = image_content(prepared)
        row.image.save(content.name, content, save=False)
        rows.append(row)
    return PostImage.objects.bulk_create(rows)


def images_delete(*, post_id: int) -> None:
    """Remove a post's photos: the rows now, the files once the deletion has committed."""
    names = list(PostImage.objects.filter(post_id=post_id).values_list("image", flat=True))
    if not names:
        return
    PostImage.objects.filter(post_id=post_id).delete()

    def remove_files() -> None:
        for name in names:
            default_storage.delete(name)

    transaction.on_commit(remove_files)


def image_url(name: str) -> str:
    """Where a stored photo is served (a signed, expiring URL with object storage)."""
    return default_storage.url(name)
