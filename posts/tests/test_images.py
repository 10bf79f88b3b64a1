"""Photos on posts: re-encoding (metadata gone, orientation applied, size bounded), every
bad upload refused with a 4xx and a stable code with nothing written, the API's multipart
input and output, the timeline's markup, and deletion."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from posts import images as post_images
from posts import selectors, services
from posts.images import ImageUpload, images_prepare
from posts.models import POST_IMAGE_MAX_SIDE, Post, PostImage

pytestmark = pytest.mark.django_db

GPS_IFD = 0x8825
ORIENTATION = 0x0112


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _jpeg_with_gps(size=(300, 200), orientation: int | None = None) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # camera make
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 1.0)})
    if orientation:
        exif[ORIENTATION] = orientation
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def _png(size=(40, 30), mode="RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (10, 120, 200, 128) if mode == "RGBA" else (10, 120, 200)).save(
        out, format="PNG"
    )
    return out.getvalue()


def _bomb_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares ``width`` by ``height`` pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def _file(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def _open(content: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(content))
    image.load()
    return image


# --- the service ----------------------------------------------------------------------------


def test_reencoding_strips_metadata_and_applies_the_orientation():
    [prepared] = images_prepare(
        uploads=[ImageUpload(file=_file(_jpeg_with_gps(orientation=6)), alt="A red card")]
    )
    image = _open(prepared.content)
    assert image.format == "WEBP"
    # Orientation 6 means "turn 90°": the stored picture is upright, 200 by 300.
    assert (image.width, image.height) == (prepared.width, prepared.height) == (200, 300)
    assert len(image.getexif()) == 0
    assert not {"exif", "icc_profile", "xmp"} & set(image.info)
    assert b"PhoneMaker" not in prepared.content and b"GPS" not in prepared.content
    assert prepared.alt == "A red card"


def test_large_pictures_are_scaled_to_the_bound_and_transparency_is_kept():
    wide, clear = images_prepare(
        uploads=[
            ImageUpload(file=_file(_png((3000, 1000)), "wide.png"), alt="wide"),
            ImageUpload(file=_file(_png((50, 50), "RGBA"), "clear.png"), alt=" clear "),
        ]
    )
    assert (wide.width, wide.height) == (POST_IMAGE_MAX_SIDE, 683)
    # A large JPEG is decoded at a reduced scale first, and still lands on the bound.
    big = io.BytesIO()
    Image.new("RGB", (6000, 4000), (90, 140, 60)).save(big, format="JPEG")
    [large] = images_prepare(uploads=[ImageUpload(file=_file(big.getvalue()), alt="field")])
    assert (large.width, large.height) == (POST_IMAGE_MAX_SIDE, 1365)
    assert _open(clear.content).mode == "RGBA"
    assert clear.alt == "clear"


def test_an_animation_keeps_its_first_frame():
    frames = [Image.new("P", (20, 10), colour) for colour in (1, 2, 3)]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:])
    [prepared] = images_prepare(uploads=[ImageUpload(file=_file(out.getvalue()), alt="gif")])
    image = _open(prepared.content)
    assert (image.width, image.height) == (20, 10)
    assert getattr(image, "n_frames", 1) == 1


@pytest.mark.parametrize(
    ("data", "alt", "code"),
    [
        (b"<html><script>alert(1)</script></html>", "x", "image_invalid"),
        (_png()[:60], "x", "image_invalid"),  # truncated
        (b"BM" + b"\0" * 200, "x", "image_invalid"),  # not a format we take
        (_bomb_png(30000, 30000), "x", "image_too_many_pixels"),  # Pillow's own bomb check
        (_bomb_png(8000, 6000), "x", "image_too_many_pixels"),  # ours, from the header
        (_png(), "", "image_alt_missing"),
        (_png(), "   ", "image_alt_missing"),
        (_png(), "a\x07b", "text_invalid"),
        (_png(), "x" * 1001, "text_too_long"),
    ],
)
def test_bad_photos_are_refused_with_their_position(data, alt, code):
    uploads = [
        ImageUpload(file=_file(_png()), alt="fine"),
        ImageUpload(file=_file(data), alt=alt),
    ]
    with pytest.raises(Exception) as caught:
        images_prepare(uploads=uploads)
    assert caught.value.code == code
    assert caught.value.details["index"] == 1


def test_size_and_count_limits(monkeypatch):
    monkeypatch.setattr(post_images, "IMAGE_MAX_BYTES", 1000)
    with pytest.raises(post_images.ImageTooLarge):
        images_prepare(uploads=[ImageUpload(file=_file(b"\0" * 1001), alt="x")])
    with pytest.raises(post_images.TooManyImages):
        images_prepare(uploads=[ImageUpload(file=_file(_png()), alt="x")] * 5)


def test_a_post_with_photos_stores_them_in_order_and_may_have_no_text(make_user):
    author = make_user()
    prepared = images_prepare(
        uploads=[
            ImageUpload(file=_file(_png((30, 20))), alt="first"),
            ImageUpload(file=_file(_png((20, 30))), alt="second"),
        ]
    )
    post = services.post_create(author=author, text="", images=prepared)
    rows = list(post.images.order_by("position"))
    assert [(r.alt, r.width, r.height) for r in rows] == [("first", 30, 20), ("second", 20, 30)]
    assert all(r.image.name.endswith(".webp") for r in rows)
    assert all(default_storage.exists(r.image.name) for r in rows)
    # Timelines carry the photos in the row itself (no query per post).
    [shown] = selectors.timeline_profile(author=author, viewer=None)
    assert [i["alt"] for i in shown.shown_images] == ["first", "second"]
    with pytest.raises(services.PostEmpty):
        services.post_create(author=author, text="  ")


def test_deleting_a_post_removes_its_photos_after_commit(
    make_user, django_capture_on_commit_callbacks
):
    author = make_user()
    prepared = images_prepare(uploads=[ImageUpload(file=_file(_png()), alt="gone soon")])
    post = services.post_create(author=author, text="bye", images=prepared)
    name = post.images.get().image.name
    with django_capture_on_commit_callbacks(execute=True):
        services.post_delete(post_id=post.pk, actor=author)
    assert not PostImage.objects.filter(post=post).exists()
    assert not default_storage.exists(name)


# --- the API --------------------------------------------------------------------------------


def test_api_takes_photos_as_multipart_and_shows_them(make_user, client_for):
    author, reader = make_user(), make_user()
    response = client_for(author).post(
        "/api/v1/posts",
        {
            "text": "holiday",
            "images": [_file(_jpeg_with_gps(), "a.jpg"), _file(_png(), "b.png", "image/png")],
            "alt": ["A red card", "A blue square"],
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    images = response.json()["images"]
    assert [(i["alt"], i["width"], i["height"]) for i in images] == [
        ("A red card", 300, 200),
        ("A blue square", 40, 30),
    ]
    assert all(i["url"].endswith(".webp") for i in images)
    post_id = response.json()["id"]
    repost = client_for(reader).post(f"/api/v1/posts/{post_id}/repost").json()
    assert repost["images"] == [] and repost["repost_of"]["images"] == images
    timeline = client_for(author).get("/api/v1/timeline").json()["data"]
    assert timeline[0]["images"] == images


@pytest.mark.parametrize(
    ("files", "alts", "status", "code"),
    [
        ([(b"not an image at all", "x.jpg")], ["alt"], 400, "image_invalid"),
        ([(_png(), "x.png")], [], 400, "image_alt_missing"),
        ([(_png(), "x.png")] * 5, ["alt"] * 5, 400, "too_many_images"),
        ([(_bomb_png(30000, 30000), "bomb.png")], ["alt"], 400, "image_too_many_pixels"),
        ([(_png(), "x.png")], ["one", "two"], 400, "invalid_choice"),
    ],
)
def test_api_refuses_bad_uploads_and_writes_nothing(
    make_user, client_for, files, alts, status, code
):
    author = make_user()
    response = client_for(author).post(
        "/api/v1/posts",
        {"text": "look", "images": [_file(d, n) for d, n in files], "alt": alts},
        format="multipart",
    )
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert not Post.objects.filter(author=author).exists()
    assert not PostImage.objects.exists()


def test_api_refuses_a_photo_too_big(make_user, client_for, monkeypatch):
    monkeypatch.setattr(post_images, "IMAGE_MAX_BYTES", 2000)
    author = make_user()
    response = client_for(author).post(
        "/api/v1/posts",
        {"text": "big", "images": [_file(_png((400, 400)) + b"\0" * 3000)], "alt": ["big"]},
        format="multipart",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "image_too_large" and error["details"]["index"] == 0
    assert not Post.objects.filter(author=author).exists()


# --- the pages ------------------------------------------------------------------------------


def test_composer_posts_a_photo_and_the_timeline_shows_it_without_layout_shift(make_user, client):
    author = make_user()
    client.force_login(author)
    response = client.post(
        "/posts/new",
        {"text": "from the page", "image_2": _file(_png((64, 48))), "alt_2": "A blue square"},
    )
    assert response.status_code == 302
    post = Post.objects.get(author=author)
    assert post.images.get().alt == "A blue square"
    page = client.get("/").content.decode()
    assert 'alt="A blue square"' in page
    assert 'width="64" height="48" loading="lazy"' in page
    # The post's page offers its first photo to link previews.
    detail = client.get(f"/posts/{post.pk}").content.decode()
    assert '<meta property="og:image" content="http://testserver/media/posts/' in detail


def test_composer_refusal_keeps_what_was_typed_and_names_the_photo(make_user, client):
    author = make_user()
    client.force_login(author)
    response = client.post(
        "/posts/new",
        {"text": "kept text", "image_3": _file(b"nope"), "alt_3": "kept alt"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "kept text" in page and 'value="kept alt"' in page
    assert 'id="image-3-error"' in page and 'aria-invalid="true"' in page
    assert not Post.objects.filter(author=author).exists()
