"""Locking a post or selling a product while writing it: the composer (and the post API)
publish the post with its locked part and its product in one step through
``posts.publishing``; a refusal writes nothing and gives back everything typed."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from payments.creators.models import Product
from payments.creators.tests.factories import api_for, make_user
from posts.models import Post

pytestmark = pytest.mark.django_db


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


LOCK = {"text": "A teaser", "locked_text": "The secret recipe", "price": "3.00", "currency": "USD"}
PRODUCT = {
    "product_title": "Recipe book",
    "product_price": "12.50",
    "product_currency": "USD",
    "product_stock": "5",
    "product_kind": "digital",
    "product_delivery_url": "https://example.com/book.pdf",
    "product_description": "All of them",
}


def test_composer_creates_a_locked_post_with_a_product_in_one_step():
    author, reader = make_user(), make_user()
    response = browser(author).post("/posts/new", {**LOCK, **PRODUCT})
    assert response.status_code == 302
    post = Post.objects.get(author=author)
    assert (post.text, post.locked_text) == ("A teaser", "The secret recipe")
    assert (post.price_amount, post.price_currency) == (300, "USD")
    product = Product.objects.get(post=post)
    assert (product.title, product.price_amount, product.stock, product.kind) == (
        "Recipe book",
        1250,
        5,
        "digital",
    )
    # A reader sees the teaser and the unlock link, not the secret.
    page = browser(reader).get(f"/posts/{post.pk}").content.decode()
    assert "A teaser" in page and "The secret recipe" not in page
    assert f"/posts/{post.pk}/unlock" in page


def test_composer_locks_with_a_german_amount():
    author = make_user()
    client = browser(author)
    client.cookies["django_language"] = "de"
    response = client.post("/posts/new", {**LOCK, "price": "3,50"})
    assert response.status_code == 302
    assert Post.objects.get(author=author).price_amount == 350


@pytest.mark.parametrize(
    ("fields", "part"),
    [
        ({**LOCK, "price": "three"}, "lock-error"),
        ({**LOCK, "price": ""}, "lock-error"),  # locked text without a price
        ({**LOCK, "price": "-1"}, "lock-error"),
        ({**LOCK, **PRODUCT, "product_stock": "many"}, "product-error"),
        ({**LOCK, **PRODUCT, "product_delivery_url": "http://plain.example"}, "product-error"),
        ({**LOCK, **PRODUCT, "product_price": "0"}, "product-error"),
    ],
)
def test_composer_refusals_write_nothing_and_keep_what_was_typed(fields, part):
    author = make_user()
    for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
        response = browser(author).post("/posts/new", fields, **headers)
        assert response.status_code == 400
        page = response.content.decode()
        assert f'id="{part}"' in page
        assert "The secret recipe" in page and "A teaser" in page
        assert f'value="{fields["price"]}"' in page
        if "product_title" in fields:
            assert 'value="Recipe book"' in page and "All of them" in page
            assert f'value="{fields["product_stock"]}"' in page
    assert not Post.objects.filter(author=author).exists()
    assert not Product.objects.exists()


def test_replies_from_the_post_page_carry_no_lock_or_product():
    author = make_user()
    parent = Post.objects.create(author=author, text="parent")
    client = browser(author)
    page = client.get(f"/posts/{parent.pk}").content.decode()
    assert 'name="reply_to"' in page and 'name="locked_text"' not in page
    response = client.post("/posts/new", {**LOCK, **PRODUCT, "reply_to": str(parent.pk)})
    assert response.status_code == 302
    reply = Post.objects.get(reply_to=parent)
    assert reply.locked_text == "" and not Product.objects.filter(post=reply).exists()


def test_api_sells_a_product_from_a_new_post_and_refuses_a_bad_one_whole():
    author = make_user()
    client = api_for(author)
    product = {
        "title": "Mug",
        "price": {"amount": 2000, "currency": "USD"},
        "stock": 3,
        "kind": "physical",
    }
    response = client.post("/api/v1/posts", {"text": "for sale", "product": product}, format="json")
    assert response.status_code == 201, response.content
    assert Product.objects.get(post_id=response.json()["id"]).title == "Mug"
    for bad, code in [
        ({**product, "kind": "service"}, "invalid_choice"),
        ({**product, "stock": "3"}, "invalid_choice"),
        ({**product, "price": {"amount": "2000", "currency": "USD"}}, "invalid_amount"),
        ({**product, "colour": "red"}, "unknown_field"),
        ("a mug", "invalid_choice"),
    ]:
        response = client.post("/api/v1/posts", {"text": "bad", "product": bad}, format="json")
        assert response.status_code == 400, bad
        assert response.json()["error"]["code"] == code, bad
    assert Post.objects.filter(author=author).count() == 1


def test_a_reply_to_a_missing_post_is_a_404_with_the_text_kept():
    author = make_user()
    response = browser(author).post("/posts/new", {"text": "into the void", "reply_to": "999999"})
    assert response.status_code == 404
    assert "into the void" in response.content.decode()
    assert not Post.objects.filter(author=author).exists()


def _jpeg_with_camera_make(size=(600, 400)) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # camera make: must not survive the re-encoding
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


@pytest.fixture
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.mark.usefixtures("_media")
def test_a_product_photo_is_reencoded_and_shown_on_the_card_and_the_buy_page():
    author, fan = make_user(), make_user()
    photo = SimpleUploadedFile("zine.jpg", _jpeg_with_camera_make(), content_type="image/jpeg")
    response = browser(author).post(
        "/posts/new",
        {**PRODUCT, "text": "New book", "product_photo": photo, "product_photo_alt": "A red cover"},
    )
    assert response.status_code == 302
    product = Product.objects.get(post__author=author)
    assert product.photo.name.endswith(".webp") and "zine" not in product.photo.name
    assert (product.photo_width, product.photo_height, product.photo_alt) == (
        600,
        400,
        "A red cover",
    )
    with product.photo.open("rb") as stored, Image.open(stored) as image:
        assert image.format == "WEBP" and not image.getexif()
    url = f"/media/{product.photo.name}"
    card = browser(fan).get(f"/@{author.handle}").content.decode()
    assert f'<img class="product-photo" src="{url}" alt="A red cover"' in card
    buy = browser(fan).get(f"/products/{product.pk}/buy").content.decode()
    assert f'src="{url}" alt="A red cover"' in buy
    guest = Client().get(f"/pay/guest/product/{product.pk}").content.decode()
    assert f'src="{url}" alt="A red cover"' in guest


@pytest.mark.usefixtures("_media")
@pytest.mark.parametrize(
    ("data", "alt"),
    [(b"<html>not a picture</html>", "A cover"), (_jpeg_with_camera_make((40, 30)), "")],
)
def test_a_bad_product_photo_writes_nothing_and_keeps_what_was_typed(data, alt):
    author = make_user()
    photo = SimpleUploadedFile("zine.jpg", data, content_type="image/jpeg")
    response = browser(author).post(
        "/posts/new",
        {**PRODUCT, "text": "New book", "product_photo": photo, "product_photo_alt": alt},
    )
    assert response.status_code == 400
    assert not Post.objects.filter(author=author).exists() and not Product.objects.exists()
    page = response.content.decode()
    assert 'id="product-error"' in page and 'value="Recipe book"' in page
