"""Writing in headless Chromium, on a phone (390 px) and a desktop (1280 px), in English
and German: a post with a photo (a missing description is refused in place and the text
kept; the first post replaces the empty timeline without a reload), a locked post made
from the composer, and a profile's followers list. Nothing is
wider than the screen. Screenshots land in artifacts/screenshots/compose/ (or
$SCREENSHOT_DIR) for a human to look at."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import expect, sync_playwright

from accounts.services import follow_create, user_signup
from posts.models import Post

ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("SCREENSHOT_DIR") or ROOT / "artifacts" / "screenshots" / "compose")
PASSWORD = "a long and unusual passphrase 42"
WIDTHS = [("phone", 390, 844), ("desktop", 1280, 900)]
# (language, a typed price in its number format, words the page must show)
LANGUAGES = [("en", "3.00", "Add photos"), ("de", "3,00", "Fotos hinzufügen")]


@pytest.fixture
def chromium():
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def photo(tmp_path) -> Path:
    image = Image.new("RGB", (1600, 1200), (235, 200, 120))
    draw = ImageDraw.Draw(image)
    draw.ellipse((500, 300, 1100, 900), fill=(40, 90, 160))
    path = tmp_path / "harbour.jpg"
    image.save(path, format="JPEG")
    return path


def _no_overflow(page, where: str) -> list[str]:
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    return [f"{where}: {width}px wide in a {inner}px window"] if width > inner else []


def _shot(page, name: str) -> None:
    page.screenshot(path=SHOTS / f"{name}.png", full_page=True)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_post_a_photo_lock_a_post_and_open_the_followers(live_server, chromium, photo, settings):
    settings.ROOT_URLCONF = "tests.browser.media_urls"
    settings.MEDIA_ROOT = photo.parent / "media"
    ada = user_signup(handle="ada", email="ada@example.com", password=PASSWORD, display_name="Ada")
    for handle in ("ben", "cleo"):
        fan = user_signup(handle=handle, email=f"{handle}@example.com", password=PASSWORD)
        follow_create(follower=fan, followee=ada)
    problems: list[str] = []
    for lang, price, add_photos in LANGUAGES:
        context = chromium.new_context(base_url=live_server.url)
        context.add_cookies([{"name": "django_language", "value": lang, "url": live_server.url}])
        page = context.new_page()
        page.goto("/accounts/login/")
        page.locator("#id_login").fill("ada")
        page.locator("#id_password").fill(PASSWORD)
        page.locator("#main form button[type=submit]").click()
        page.wait_for_url(f"{live_server.url}/")
        for view, width, height in WIDTHS:
            where = f"{view}-{lang}"
            page.set_viewport_size({"width": width, "height": height})
            page.goto("/")
            composer = page.locator("#composer")
            expect(composer.locator("summary").first).to_contain_text(add_photos)
            if not Post.objects.filter(author=ada).exists():
                expect(page.locator("#timeline-empty")).to_be_visible()

            # A photo without its description is refused in place; the text stays.
            composer.locator("textarea[name=text]").fill(f"Harbour at dawn {where}")
            composer.locator("summary").first.click()
            composer.locator("#image-1").set_input_files(photo)
            composer.locator("button[type=submit]").click()
            expect(page.locator("#image-1-error")).to_be_visible()
            expect(page.locator("#composer textarea[name=text]")).to_have_value(
                f"Harbour at dawn {where}"
            )
            _shot(page, f"1-photo-refused-{where}")
            problems += _no_overflow(page, f"refused {where}")

            # Chosen again with a description: the post appears at the top, photo loaded.
            composer = page.locator("#composer")
            composer.locator("#image-1").set_input_files(photo)
            composer.locator("#alt-1").fill("A blue sun over a sandy harbour")
            composer.locator("button[type=submit]").click()
            card = page.locator("#timeline .post-card").first
            expect(card).to_contain_text(f"Harbour at dawn {where}")
            # The first post replaces the "Nothing here yet" empty state, without a reload.
            expect(page.locator("#timeline-empty")).to_have_count(0)
            image = card.locator("img[alt='A blue sun over a sandy harbour']")
            expect(image).to_be_visible()
            page.wait_for_function(
                "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
            )
            box = image.bounding_box()
            assert box and box["width"] <= width
            _shot(page, f"2-photo-posted-{where}")
            problems += _no_overflow(page, f"photo {where}")

            # A locked post, written and priced in one go.
            composer = page.locator("#composer")
            composer.locator("textarea[name=text]").fill(f"Essay teaser {where}")
            composer.locator("summary").nth(1).click()
            composer.locator("#lock-text").fill(f"The whole essay {where}")
            composer.locator("#lock-price").fill(price)
            composer.locator("select[name=currency]").select_option("EUR")
            _shot(page, f"3-lock-form-{where}")
            problems += _no_overflow(page, f"lock form {where}")
            composer.locator("button[type=submit]").click()
            card = page.locator("#timeline .post-card").first
            expect(card).to_contain_text(f"Essay teaser {where}")
            expect(card.locator(".locked-content")).to_contain_text(f"The whole essay {where}")
            _shot(page, f"4-locked-posted-{where}")
            locked = Post.objects.get(text=f"Essay teaser {where}")
            assert (locked.price_amount, locked.price_currency) == (300, "EUR")

            # The profile's follower count leads to the list.
            page.goto("/@ada")
            page.locator(".counts a[href='/@ada/followers']").click()
            page.wait_for_url(f"{live_server.url}/@ada/followers")
            expect(page.locator(".people-list")).to_contain_text("@ben")
            expect(page.locator(".people-list")).to_contain_text("@cleo")
            _shot(page, f"5-followers-{where}")
            problems += _no_overflow(page, f"followers {where}")
        context.close()
    assert problems == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_sell_a_product_with_a_photo_and_buy_it_from_the_timeline(
    live_server, chromium, photo, settings
):
    """The product appears on the new post's card with its photo, price and (for a visitor)
    the card checkout, on a phone and a desktop, in both languages, nothing too wide."""
    settings.ROOT_URLCONF = "tests.browser.media_urls"
    settings.MEDIA_ROOT = photo.parent / "media"
    user_signup(handle="ada", email="ada@example.com", password=PASSWORD, display_name="Ada")
    problems: list[str] = []
    for lang, price, _words in LANGUAGES:
        for view, width, height in WIDTHS:
            where = f"{view}-{lang}"
            context = chromium.new_context(
                base_url=live_server.url, viewport={"width": width, "height": height}
            )
            context.add_cookies(
                [{"name": "django_language", "value": lang, "url": live_server.url}]
            )
            page = context.new_page()
            page.goto("/accounts/login/")
            page.locator("#id_login").fill("ada")
            page.locator("#id_password").fill(PASSWORD)
            page.locator("#main form button[type=submit]").click()
            page.wait_for_url(f"{live_server.url}/")
            composer = page.locator("#composer")
            composer.locator("textarea[name=text]").fill(f"My zine is out {where}")
            composer.locator("summary:has(.icon use[href$='#shopping-bag'])").click()
            composer.locator("#product-title").fill(f"Harbour zine {where}")
            composer.locator("#product-price").fill(price)
            composer.locator("#product-url").fill("https://example.com/zine.pdf")
            composer.locator("#product-photo").set_input_files(photo)
            composer.locator("#product-photo-alt").fill("A blue sun on a zine cover")
            composer.locator("button[type=submit]").click()
            card = page.locator("#timeline .post-card").first
            expect(card.locator(".product-title")).to_have_text(f"Harbour zine {where}")
            image = card.locator(".product-card img[alt='A blue sun on a zine cover']")
            expect(image).to_be_visible()
            page.wait_for_function(
                "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
            )
            _shot(page, f"5-product-posted-{where}")
            problems += _no_overflow(page, f"product {where}")
            context.close()

            # A visitor sees it on the profile and goes to the card checkout from the card.
            visitor = chromium.new_context(
                base_url=live_server.url, viewport={"width": width, "height": height}
            )
            visitor.add_cookies(
                [{"name": "django_language", "value": lang, "url": live_server.url}]
            )
            page = visitor.new_page()
            page.goto("/@ada")
            card = page.locator(".post-card", has_text=f"My zine is out {where}")
            problems += _no_overflow(page, f"visitor profile {where}")
            _shot(page, f"6-product-visitor-{where}")
            card.locator(".product-card a.pill-button").click()
            page.wait_for_url("**/pay/guest/product/*")
            expect(page.locator("img.product-photo-large")).to_be_visible()
            problems += _no_overflow(page, f"guest checkout {where}")
            visitor.close()
    assert problems == []
