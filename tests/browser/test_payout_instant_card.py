"""An instant payout to a debit card, end to end in headless Chromium on a phone (390 px),
in English and in German.

A verified creator adds a debit card through the pages (re-authentication first; the hold
shown before saving; a credit card refused on its field), chooses "Instant", sees the fee
first on the review, confirms, and the real Celery worker submits the payout, which the
sandbox's ``payout.paid`` webhook marks paid within seconds. The postings, the fee on the
platform's fee revenue account included, are then read from the ledger. Her verification
(a staff step) and her earnings (a card top-up) are made through services.
"""

from __future__ import annotations

import re
import time

import pytest
from django.test import Client
from playwright.sync_api import expect, sync_playwright

from accounts.services import user_signup
from ledger.models import Entry, Posting
from payments.payouts.models import Payout, PayoutDestination
from payments.wallets.tests.support import fund
from payments.wallets.verification import verification_approve, verification_request_create
from tests.browser.test_journeys import CHROMIUM_ARGS, PASSWORD, Shots

PHONE = {"width": 390, "height": 844}

# What each language calls the things the test clicks and reads.
WORDS = {
    "en": {
        "accept": "en-US,en;q=0.9",
        "add_card": "Add debit card for instant payouts",
        "hold": "payouts pause for 0 hours",
        "credit": "Visa credit card (refused: not a debit card)",
        "debit": "Visa debit (instant payouts)",
        "save": "Save debit card",
        "not_debit": "Payouts go to debit cards only",
        "saved": "Visa debit card ending in",
        "instant": "Instant (1.5 % fee, at least $0.50; within minutes)",
        "typed": "50.00",
        "review": "Review payout",
        "fee_notice": "Instant payout fee: $0.75",
        "card_line": "Arrives on your Visa debit card ending in 5556",
        "pay": re.compile(r"^Pay out"),
        "requested": "Payout of $50.75 requested.",
        "paid": "Paid",
    },
    "de": {
        "accept": "de-DE,de;q=0.9",
        "add_card": "Debitkarte für Sofortauszahlungen hinzufügen",
        "hold": "pausieren Auszahlungen 0 Stunden",
        "credit": "Visa-Kreditkarte (abgelehnt: keine Debitkarte)",
        "debit": "Visa Debit (Sofortauszahlungen)",
        "save": "Debitkarte speichern",
        "not_debit": "Auszahlungen gehen nur auf Debitkarten",
        "saved": "Visa-Debitkarte mit der Endung",
        "instant": re.compile(
            r"Sofort \(1,5 % Gebühr, mindestens 0,50\s\$; innerhalb von Minuten\)"
        ),
        "typed": "50,00",
        "review": "Auszahlung prüfen",
        "fee_notice": re.compile(r"Gebühr für die Sofortauszahlung: 0,75\s\$"),
        "card_line": "Kommt auf deiner Visa-Debitkarte mit der Endung 5556 an",
        "pay": re.compile(r"auszahlen$"),
        "requested": re.compile(r"Auszahlung von 50,75\s\$ angefordert"),
        "paid": "Bezahlt",
    },
}


@pytest.fixture
def phone():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        errors: list[str] = []

        def new_page(accept_language: str):
            context = browser.new_context(
                viewport=PHONE, extra_http_headers={"Accept-Language": accept_language}
            )
            context.set_default_timeout(15_000)
            page = context.new_page()
            # A refused form answers 400 on purpose (a bad input is a 4xx); the browser logs
            # that as a failed resource, which is no error of the page.
            page.on(
                "console",
                lambda m: (
                    errors.append(m.text)
                    if m.type == "error" and "status of 400" not in m.text
                    else None
                ),
            )
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            return page

        yield new_page
        browser.close()
        assert not errors, errors


def _legs(key: str) -> list[tuple[str, str, int]]:
    entry = Entry.objects.get(idempotency_key=key)
    rows = Posting.objects.filter(entry=entry).select_related("account")
    return sorted((p.direction, p.account.key, p.amount) for p in rows)


@pytest.mark.browser
@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("lang", ["en", "de"])
def test_an_instant_payout_to_a_debit_card_is_paid_within_seconds(
    live_server, phone, celery_worker_process, settings, lang
):
    settings.PAYOUT_DESTINATION_HOLD_HOURS = 0  # past the hold
    settings.PAYOUT_INSTANT_FEE_BPS = 150
    settings.PAYOUT_INSTANT_FEE_MIN = 50
    from accounts.models import User

    words = WORDS[lang]
    dana = user_signup(handle=f"dana{lang}", email=f"dana-{lang}@example.com", password=PASSWORD)
    admin = User.objects.create_superuser(
        handle=f"admin{lang}", email=f"admin-{lang}@example.com", password=PASSWORD
    )
    request = verification_request_create(user=dana, legal_name="Dana Scully", country="US")
    verification_approve(request_id=request.pk, actor=admin)
    fund(dana, 8000, "USD")  # 80.00 USD earned
    User.objects.filter(pk=dana.pk).update(language=lang, home_currency="USD")

    url = live_server.url
    shot = Shots(f"payout-instant-card-{lang}")
    page = phone(words["accept"])
    client = Client()
    client.force_login(dana)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": url}]
    )

    # Adding a card asks for the password again, and shows the hold before saving.
    page.goto(f"{url}/payouts/settings")
    page.get_by_role("button", name=words["add_card"]).click()
    if "reauthenticate" in page.url:
        page.locator("input[type=password]").fill(PASSWORD)
        page.locator("input[type=password]").press("Enter")
    expect(page.get_by_text(words["hold"])).to_be_visible()

    # A credit card is refused on its field; nothing becomes a destination.
    page.get_by_label(words["credit"]).check()
    page.get_by_role("button", name=words["save"]).click()
    expect(page.get_by_text(words["not_debit"])).to_be_visible()
    assert not PayoutDestination.objects.filter(user=dana, status="active").exists()
    shot(page, "credit-refused")

    page.get_by_label(words["debit"]).check()
    page.get_by_role("button", name=words["save"]).click()
    expect(page.get_by_text(words["saved"])).to_be_visible()
    card = PayoutDestination.objects.get(user=dana, status="active")
    assert (card.kind, card.last4, card.instant_available) == ("card", "5556", True)
    shot(page, "card-saved")

    # Instant, with its terms on the choice, and the fee first on the review.
    page.goto(f"{url}/payouts/")
    instant = page.locator("input[name=method][value=instant]")
    expect(page.locator("label", has=instant)).to_contain_text(words["instant"])
    instant.check()
    page.locator("#id_amount").fill(words["typed"])
    page.get_by_role("button", name=words["review"]).click()
    notice = page.locator("#instant-fee")
    expect(notice).to_contain_text(words["fee_notice"])
    expect(page.get_by_text(words["card_line"])).to_be_visible()
    # The fee line is read before the amount: in the notice and the review's first line.
    first_line = page.locator("table.review tr").first
    assert "0.75" in first_line.inner_text() or "0,75" in first_line.inner_text()
    box = page.get_by_role("button", name=words["pay"]).bounding_box()
    assert box is not None and box["x"] + box["width"] <= PHONE["width"]  # fits the phone
    shot(page, "review")
    page.get_by_role("button", name=words["pay"]).click()
    expect(page.get_by_text(words["requested"])).to_be_visible()

    # The worker submits it; the sandbox's payout.paid webhook marks it paid.
    deadline = time.monotonic() + 30
    while Payout.objects.get(user=dana).status != "paid":
        assert time.monotonic() < deadline, "the payout never became paid"
        time.sleep(0.5)
    page.reload()
    expect(page.locator("td mark").first).to_have_text(words["paid"])
    shot(page, "paid")

    payout = Payout.objects.get(user=dana)
    assert (payout.amount, payout.fee, payout.currency, payout.method) == (
        5000,
        75,
        "USD",
        "instant",
    )
    assert payout.ledger_status == "paid"
    assert _legs(f"payout:{payout.pk}:paid") == [
        ("C", "platform:fees:USD", 75),
        ("C", "platform:payouts_in_transit:USD", 5000),
        ("D", f"wallet:user:{dana.pk}:USD", 5075),
    ]
    assert _legs(f"payout:{payout.pk}:settle") == [
        ("C", "platform:processor_clearing:sandbox:USD", 5000),
        ("D", "platform:payouts_in_transit:USD", 5000),
    ]
