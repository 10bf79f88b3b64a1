"""End to end in headless Chromium: a fan tips a post, unlocks a paid post and buys a
product (each through the review page with its fee lines); the creator then sees all three
on the dashboard, whose chart is drawn by Chart.js under the strict CSP."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect, sync_playwright

from core.money import Money
from payments.creators import services
from payments.creators.tests.factories import available, fund, make_post, make_user

ROOT = Path(__file__).resolve().parents[3]
SHOTS = ROOT / "artifacts" / "screenshots"


@pytest.fixture
def browser_context():
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        context = browser.new_context(viewport={"width": 412, "height": 915})
        errors: list[str] = []
        context.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        yield context
        context.close()
        browser.close()
        csp = [e for e in errors if "Content Security Policy" in e]
        assert not csp, csp


def login(context, user, url: str) -> None:
    """Sign in by session cookie (the login flow itself is tested elsewhere)."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": url}])


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_fan_tips_unlocks_buys_and_creator_sees_it(live_server, browser_context):
    url = live_server.url
    creator, fan = make_user("creator"), make_user("fan")
    fund(fan, 10_000)
    tip_post = make_post(creator, "Thanks for reading")
    paid = services.post_set_paid_content(
        author=creator,
        post=make_post(creator, "Teaser of my essay"),
        locked_text="The whole essay, for supporters.",
        price=Money(300, "USD"),
    )
    shop = make_post(creator, "New zine out")
    services.product_create(
        seller=creator,
        post_id=shop.pk,
        title="Zine",
        description="32 pages",
        price=Money(2000, "USD"),
        stock=3,
        kind="digital",
        delivery_url="https://example.com/zine.pdf",
    )

    page = browser_context.new_page()
    login(browser_context, fan, url)

    # Tip 5.00 with a public message.
    page.goto(f"{url}/posts/{tip_post.pk}")
    page.get_by_role("link", name="Tip").first.click()
    page.get_by_label("$5.00").check()
    page.get_by_label("Message (optional)").fill("Keep going!")
    page.get_by_label("Show my tip and message on the post").check()
    page.get_by_role("button", name="Review").click()
    expect(page.get_by_role("rowheader", name="Platform fee (10%", exact=False)).to_be_visible()
    expect(page.get_by_role("cell", name="$4.50")).to_be_visible()
    page.screenshot(path=SHOTS / "creators-01-tip-review.png", full_page=True)
    page.get_by_role("button", name="Pay").click()
    # Paid in place (htmx): the success state, then the public tip on the reloaded post.
    expect(page.get_by_text("You tipped @")).to_be_visible()
    page.reload()
    expect(page.get_by_text("Keep going!")).to_be_visible()

    # Unlock the paid post.
    page.goto(f"{url}/posts/{paid.pk}")
    expect(page.get_by_text("The whole essay")).to_have_count(0)
    page.get_by_role("link", name="Unlock for $3.00").click()
    expect(page.get_by_role("cell", name="$0.30")).to_be_visible()
    page.get_by_role("button", name="Unlock for").click()
    expect(page.get_by_text("The whole essay, for supporters.")).to_be_visible()

    # Buy the zine.
    page.goto(f"{url}/posts/{shop.pk}")
    page.get_by_role("link", name="Buy").click()
    page.get_by_role("button", name="Review").click()
    expect(page.get_by_text("escrow").first).to_be_visible()
    page.get_by_role("button", name="Pay").click()
    expect(page.get_by_role("link", name="https://example.com/zine.pdf")).to_be_visible()
    page.screenshot(path=SHOTS / "creators-02-order.png", full_page=True)
    assert available(fan) == 10_000 - 500 - 300 - 2000

    # The creator's dashboard shows the three.
    browser_context.clear_cookies()
    login(browser_context, creator, url)
    page.goto(f"{url}/creator/dashboard")
    expect(page.locator("#earnings-chart[data-ready=true]")).to_have_count(1)
    assert page.locator("#earnings-chart").get_attribute("data-series") == "2"
    expect(page.get_by_text(f"@{fan.handle}").first).to_be_visible()
    expect(page.get_by_text("Zine").first).to_be_visible()
    expect(page.get_by_text("$20.00 in 1 order")).to_be_visible()
    page.screenshot(path=SHOTS / "creators-03-dashboard.png", full_page=True)
