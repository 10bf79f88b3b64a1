"""End to end in headless Chromium: Alice (EUR) sends 10.00 EUR to Bob (USD). She sees the
live quote count down and refresh itself when it expires, confirms, and gets a receipt; Bob
sees what arrived and the rate in his notifications and his balance. No CSP violation.
Screenshots land in artifacts/screenshots/."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.test import Client
from playwright.sync_api import expect, sync_playwright

from accounts.models import Notification
from ledger.models import Entry
from payments.fx.tests.support import deliver_tasks_inline, fund, make_person, store_rates

ROOT = Path(__file__).resolve().parents[3]
SHOTS = ROOT / "artifacts" / "screenshots"


@pytest.fixture
def browser():
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield chromium
        chromium.close()


def signed_in_page(browser, live_server, user, errors: list[str]):
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": 412, "height": 915})
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return page


@pytest.fixture
def inline():
    with deliver_tasks_inline():  # receipts
        yield


def _wait_for_receipts(user, timeout: float = 20.0) -> None:
    """Receipts are delivered by the receipts task after commit."""
    deadline = time.monotonic() + timeout
    while not Notification.objects.filter(recipient=user, kind="fx_received").exists():
        assert time.monotonic() < deadline, "no receipt delivered"
        time.sleep(0.2)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_send_eur_to_a_usd_user_and_both_sides_see_it(live_server, browser, settings, inline):
    settings.FX_QUOTE_TTL_SECONDS = 3  # short, to watch the quote refresh itself
    store_rates()
    alice = make_person("alicebr", home_currency="EUR")
    bob = make_person("bobbr", home_currency="USD")
    fund(alice, 5000, "EUR")
    errors: list[str] = []
    url = live_server.url

    page = signed_in_page(browser, live_server, alice, errors)
    page.goto(f"{url}/fx/send")
    page.get_by_label("To (handle)").fill("bobbr")
    page.get_by_label("You pay in").select_option("EUR")
    page.get_by_label("Amount").fill("10.00")
    page.get_by_role("button", name="See the quote").click()
    expect(page.locator('[data-fx="target"]')).to_have_text("$10.74")
    expect(page.locator('[data-fx="fee"]')).to_contain_text("$0.06")
    page.screenshot(path=SHOTS / "fx-01-quote.png", full_page=True)
    first_quote = page.locator('input[name="quote"]').get_attribute("value")
    # The countdown runs out and htmx swaps in a fresh quote.
    expect(page.locator('input[name="quote"]')).not_to_have_value(first_quote, timeout=10_000)
    expect(page.locator("[data-fx-confirm]")).to_be_enabled()
    page.get_by_role("button", name="Send €10.00").click()
    expect(page.get_by_role("heading", name="Sent to @bobbr")).to_be_visible()
    expect(page.locator('[data-fx="target"]')).to_have_text("$10.74")
    page.screenshot(path=SHOTS / "fx-02-receipt.png", full_page=True)
    page.goto(f"{url}/fx/")
    expect(page.locator('[data-currency="EUR"]')).to_have_text("€40.00")

    bob_page = signed_in_page(browser, live_server, bob, errors)
    _wait_for_receipts(bob)
    bob_page.goto(f"{url}/notifications")
    expect(bob_page.locator("body")).to_contain_text("sent you $10.74 (€10.00")
    expect(bob_page.locator("body")).to_contain_text("1.08")
    bob_page.screenshot(path=SHOTS / "fx-03-recipient-notification.png", full_page=True)
    bob_page.goto(f"{url}/fx/")
    expect(bob_page.locator('[data-fx="total"]')).to_have_text("$10.74")
    bob_page.screenshot(path=SHOTS / "fx-04-recipient-balance.png", full_page=True)

    assert Entry.objects.filter(code="fx_transfer").count() == 1
    csp = [e for e in errors if "Content Security Policy" in e]
    assert not csp, csp
