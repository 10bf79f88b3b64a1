"""End to end in headless Chromium at 390 px, in English and in German: a visitor with no
account opens a creator's tip jar, and then a payment link from its QR code's address,
pays each by test card, and waits on the payment page. The processor's webhook reaches
our intake (the sandbox signs it; the intake stores it) and is processed, then delivered
a second time: the creator's wallet shows each payment once, and the visitor's receipts
are in the outbox."""

from __future__ import annotations

import urllib.request

import pytest
from django.conf import settings
from django.core import mail
from playwright.sync_api import Page, expect, sync_playwright

from accounts.services import user_signup
from core.money import Money
from ledger.models import Entry
from payments.creators.models import GuestPayment
from payments.creators.tests.factories import available
from payments.creators.tests.test_guest_payments import deliver
from payments.links import services as links
from payments.processors import signing as processor_signing
from payments.processors.sandbox import models as sandbox_models
from payments.webhooks.models import WebhookEvent
from payments.webhooks.services import webhook_event_process

VIEWPORT = {"width": 390, "height": 844}
TEXT = {
    "en": {"done": "Completed", "thanks": "Thank you!", "card": "Pay by card, no account needed"},
    "de": {
        "done": "Abgeschlossen",
        "thanks": "Danke!",
        "card": "Mit Karte bezahlen, ohne Konto",
    },
}


@pytest.fixture(autouse=True)
def _webhooks_only_from_this_test(monkeypatch):
    # This test POSTs the sandbox's events itself, twice, and processes what our intake
    # stored in this process (where the guest's receipt e-mail lands in mail.outbox).
    # Without this, a Celery worker the suite runs on the same queue (for other tests)
    # would deliver and process them first, out of its hands.
    from payments.processors.sandbox import engine
    from payments.webhooks import services as intake

    monkeypatch.setattr(engine, "schedule_delivery", lambda *args, **kwargs: None)
    monkeypatch.setattr(intake, "_enqueue_on_commit", lambda *args, **kwargs: None)


def send_webhooks(base_url: str, payment_id: str) -> None:
    """What the sandbox's delivery task and our worker do (the test runs no worker): POST
    each signed event of the payment to our webhook intake over HTTP, then process the
    stored events."""
    for row in sandbox_models.Event.objects.filter(object_id=payment_id).order_by("seq"):
        body = row.body.encode()
        request = urllib.request.Request(
            f"{base_url}/webhooks/sandbox",
            data=body,
            headers={
                "Content-Type": "application/json",
                processor_signing.SIGNATURE_HEADER: processor_signing.signature_header(
                    body, settings.SANDBOX_WEBHOOK_SECRET
                ),
            },
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status < 300
    for pk in WebhookEvent.objects.order_by("pk").values_list("pk", flat=True):
        webhook_event_process(event_pk=pk)


def overflowing(page: Page) -> list[str]:
    """Elements of the page's content wider than the screen (the checkout must fit 390 px)."""
    return page.evaluate(
        """() => [...document.querySelectorAll('main *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
            .map(e => e.tagName + '.' + e.className)"""
    )


def pay_by_card(page: Page, *, email: str, amount: str | None) -> None:
    if amount is not None:
        page.fill("input[name=amount]", amount)
    page.fill("input[name=email]", email)
    page.check("input[name=payment_method][value=pm_card_visa]")
    page.click("button[name=step][value=review]")
    page.click("button[name=step][value=pay]")
    page.wait_for_url("**/pay/guest/*")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("lang", ["en", "de"])
def test_a_visitor_pays_a_tip_jar_and_a_payment_link_by_card(live_server, lang):
    text = TEXT[lang]
    creator = user_signup(
        handle=f"jar{lang}", email=f"jar{lang}@example.com", password="a long passphrase 42"
    )
    link = links.link_create(
        owner=creator, kind="fixed", currency="USD", amount=Money(800, "USD"), note="Zine #3"
    )
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
        )
        context = browser.new_context(
            viewport=VIEWPORT,
            locale="de-DE" if lang == "de" else "en-US",
            extra_http_headers={"Accept-Language": "de-DE,de;q=0.9" if lang == "de" else "en"},
        )
        context.set_default_timeout(15_000)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))

        # The tip jar: a visitor is taken to the card checkout, not to the login page.
        page.goto(f"{live_server.url}/tip/{creator.handle}")
        assert "/pay/guest/tip/" in page.url
        assert overflowing(page) == []
        pay_by_card(page, email="fan@example.com", amount="5.00" if lang == "en" else "5,00")
        tip = GuestPayment.objects.get(kind="tip")
        assert tip.status == "pending" and available(creator) == 0
        send_webhooks(live_server.url, tip.payment_id)
        send_webhooks(live_server.url, tip.payment_id)  # delivered twice
        deliver(tip.payment_id)  # and handled once more, past the intake's de-duplication
        expect(page.locator(".guest-status")).to_have_text(text["done"])
        expect(page.locator(".guest-done")).to_contain_text(text["thanks"])

        # The payment link, opened from its QR code's address.
        page.goto(f"{live_server.url}/links/{link.slug}")
        page.get_by_role("button", name=text["card"]).click()
        pay_by_card(page, email="fan@example.com", amount=None)
        paid = GuestPayment.objects.get(kind="link")
        send_webhooks(live_server.url, paid.payment_id)
        send_webhooks(live_server.url, paid.payment_id)  # a redelivery changes nothing
        expect(page.locator(".guest-status")).to_have_text(text["done"])
        assert overflowing(page) == []

        # The creator sees both payments, once each, in the wallet and on the link's page.
        creator_page = browser.new_context(viewport=VIEWPORT).new_page()
        creator_page.goto(f"{live_server.url}/accounts/login/")
        creator_page.get_by_label("Handle or e-mail").fill(creator.handle)
        creator_page.get_by_label("Password").fill("a long passphrase 42")
        creator_page.get_by_role("button", name="Sign In", exact=True).click()
        expect(creator_page.locator(".account-menu summary")).to_contain_text(creator.handle)
        creator_page.goto(f"{live_server.url}/links/{link.slug}/manage")
        expect(creator_page.locator(".guest-link-payments tbody tr")).to_have_count(1)
        creator_page.goto(f"{live_server.url}/wallet?currency=USD")
        expect(creator_page.get_by_text("Tip by card from a visitor")).to_have_count(1)
        expect(creator_page.get_by_text("A visitor paid your payment link by card")).to_have_count(
            1
        )
        browser.close()

    assert available(creator) == 450 + 720
    for guest in (tip, paid):
        assert Entry.objects.filter(reference=f"guest_payment:{guest.pk}").count() == 1
    receipts = [m for m in mail.outbox if m.to == ["fan@example.com"]]
    assert len(receipts) == 2
    assert errors == []
