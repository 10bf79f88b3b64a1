"""A creator in Germany is paid out to her IBAN, end to end in headless Chromium, in German.

She adds her bank account through the pages (country first, then the IBAN; a typo is
caught on its field; re-authentication first), is past the hold (set to zero here), and
asks for a EUR payout that the real Celery worker submits and the sandbox's
``payout.paid`` webhook marks paid. The postings are then read from the ledger. Her
verification (a staff step) and her earnings (a card top-up) are made through services.
"""

from __future__ import annotations

import re
import time

import pytest
from django.test import Client
from playwright.sync_api import expect

from accounts.services import user_signup
from ledger.models import Entry, Posting
from payments.payouts.models import Payout, PayoutDestination
from payments.wallets.tests.support import fund
from payments.wallets.verification import verification_approve, verification_request_create
from tests.browser.test_journeys import PASSWORD, Shots
from tests.browser.test_journeys import browser as browser  # the fixture


def _legs(key: str) -> list[tuple[str, str, int]]:
    entry = Entry.objects.get(idempotency_key=key)
    rows = Posting.objects.filter(entry=entry).select_related("account")
    return sorted((p.direction, p.account.key, p.amount) for p in rows)


@pytest.mark.browser
@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_a_creator_in_germany_adds_an_iban_and_a_eur_payout_is_paid(
    live_server, browser, celery_worker_process, settings
):
    settings.PAYOUT_DESTINATION_HOLD_HOURS = 0  # past the hold
    from accounts.models import User

    grete = user_signup(
        handle="grete", email="grete@example.com", password=PASSWORD, display_name="Grete"
    )
    admin = User.objects.create_superuser(
        handle="admin", email="admin@example.com", password=PASSWORD
    )
    request = verification_request_create(user=grete, legal_name="Grete Müller", country="DE")
    verification_approve(request_id=request.pk, actor=admin)
    fund(grete, 8000, "EUR")  # 80.00 EUR earned
    User.objects.filter(pk=grete.pk).update(language="de")  # her saved choice

    url = live_server.url
    shot = Shots("payout-iban-de")
    page = browser()
    page.context.set_extra_http_headers({"Accept-Language": "de-DE,de;q=0.9"})
    client = Client()
    client.force_login(grete)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": url}]
    )

    # Adding a bank account asks for the password again.
    page.goto(f"{url}/payouts/settings")
    assert "/payouts/settings" in page.url, page.url  # signed in
    page.get_by_role("button", name="Bankkonto hinzufügen").click()
    if "reauthenticate" in page.url:
        page.locator("input[type=password]").fill(PASSWORD)
        page.locator("input[type=password]").press("Enter")
    # Country first; the hold and its end are shown before anything is saved.
    expect(page.get_by_text("pausieren Auszahlungen 0 Stunden")).to_be_visible()
    page.get_by_label("Land des Bankkontos").select_option("DE")
    expect(page.get_by_label("Land des Bankkontos")).to_contain_text("Deutschland")
    shot(page, "country")
    page.get_by_role("button", name="Weiter").click()
    expect(page.get_by_text("Bank in Deutschland.")).to_be_visible()
    expect(page.get_by_label("Sort Code")).to_have_count(0)  # only what Germany needs

    # A typo in the check digits is caught on the IBAN field; nothing is saved.
    page.get_by_label("Name des Kontoinhabers").fill("Grete Müller")
    page.get_by_label("IBAN").fill("de88 3704 0044 0532 0130 00")
    page.get_by_role("button", name="Bankkonto speichern").click()
    expect(page.get_by_text("Tippfehler")).to_be_visible()
    assert not PayoutDestination.objects.filter(user=grete).exists()
    shot(page, "iban-typo")

    # Lowercase and spaces are fine.
    page.get_by_label("IBAN").fill("de89 3704 0044 0532 0130 00")
    page.get_by_role("button", name="Bankkonto speichern").click()
    expect(page.get_by_text("Endung 3000")).to_be_visible()
    shot(page, "saved")
    destination = PayoutDestination.objects.get(user=grete, status="active")
    assert (destination.country, destination.currency, destination.last4) == ("DE", "EUR", "3000")

    # A EUR payout: what arrives, when, and the fee, before confirming.
    page.goto(f"{url}/payouts/")
    expect(page.get_by_text("Auszahlungen kommen in EUR an")).to_be_visible()
    page.get_by_label("Betrag").fill("25,00")
    page.get_by_role("button", name="Auszahlung prüfen").click()
    expect(page.get_by_text("Endung 3000")).to_be_visible()
    expect(page.get_by_text(re.compile(r"25,00\s€")).first).to_be_visible()
    shot(page, "review")
    page.get_by_role("button", name=re.compile(r"auszahlen$")).click()
    expect(page.get_by_text("Auszahlung von 25,00")).to_be_visible()

    # The worker submits it; the sandbox's payout.paid webhook marks it paid.
    deadline = time.monotonic() + 30
    while Payout.objects.get(user=grete).status != "paid":
        assert time.monotonic() < deadline, "the payout never became paid"
        time.sleep(0.5)
    page.reload()
    shot(page, "paid")

    payout = Payout.objects.get(user=grete)
    assert (payout.amount, payout.fee, payout.currency) == (2500, 0, "EUR")
    assert payout.ledger_status == "paid"
    wallet = f"wallet:user:{grete.pk}:EUR"
    assert _legs(f"payout:{payout.pk}:paid") == [
        ("C", "platform:payouts_in_transit:EUR", 2500),
        ("D", wallet, 2500),
    ]
    assert _legs(f"payout:{payout.pk}:settle") == [
        ("C", "platform:processor_clearing:sandbox:EUR", 2500),
        ("D", "platform:payouts_in_transit:EUR", 2500),
    ]
