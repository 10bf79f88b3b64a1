"""Money and receipts in the reader's language: a page formats amounts for the page's
language, and a receipt or notification is written in its recipient's language, whoever
caused it."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from accounts.models import Notification
from core.money import Money
from payments.creators.services import tip_send
from payments.wallets import receipts
from payments.wallets.receipts import receipt_deliver, receipts_outbox_drain
from payments.wallets.tests.support import fund, key, person
from payments.wallets.transfers import transfer_create

pytestmark = pytest.mark.django_db


def wallet_page(user, language: str) -> str:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    page = client.get("/wallet?currency=EUR")
    assert page.status_code == 200
    return page.content.decode().replace("\xa0", " ")


def test_wallet_page_formats_money_for_the_page_language():
    alice = person()
    fund(alice, 1250, "EUR")
    assert "12,50 €" in wallet_page(alice, "de")
    english = wallet_page(alice, "en")
    assert "€12.50" in english and "12,50 €" not in english


def test_the_saved_language_formats_money_too():
    alice = person(language="de")
    fund(alice, 1250, "EUR")
    assert "12,50 €" in wallet_page(alice, "en-US")


def test_transfer_receipts_are_written_in_each_recipients_language(
    monkeypatch, django_capture_on_commit_callbacks
):
    alice, bob = person(language="en"), person(language="de")
    fund(alice, 5000, "EUR")
    queued = []
    monkeypatch.setattr(receipts, "receipts_send", lambda specs, **_: queued.extend(specs))
    # Alice's request runs in German (her browser), yet she reads English: her choice.
    from django.utils import translation

    with translation.override("de"):
        transfer_create(
            sender=alice, to=bob, money=Money(1250, "EUR"), note="", client_key="i18n-1"
        )
    sent, received = queued
    assert sent.subject == f"You paid @{bob.handle} €12.50"
    assert received.subject.replace("\xa0", " ") == f"@{alice.handle} hat dir 12,50 € gezahlt"
    assert "Überweisung Nr." in received.body
    # Delivered as mail in the same words (sent once the delivery commits).
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert receipt_deliver(spec=received)
    assert mail.outbox[-1].subject == received.subject and mail.outbox[-1].to == [bob.email]


def test_a_browser_language_recipient_gets_the_default_language(monkeypatch):
    alice, bob = person(language="de"), person()
    fund(alice, 5000, "EUR")
    queued = []
    monkeypatch.setattr(receipts, "receipts_send", lambda specs, **_: queued.extend(specs))
    transfer_create(sender=alice, to=bob, money=Money(1250, "EUR"), note="", client_key="i18n-2")
    sent, received = queued
    assert sent.subject.replace("\xa0", " ") == f"Du hast @{bob.handle} 12,50 € gezahlt"
    assert received.subject == f"@{alice.handle} paid you €12.50"


def test_tip_notification_text_is_in_the_creators_language():
    fan, creator = person(), person(language="de")
    fund(fan, 5000, "EUR")
    tip_send(tipper=fan, creator=creator, amount=Money(500, "EUR"), request_key=key())
    receipts_outbox_drain()  # receipts leave through the outbox, as for every payment
    note = Notification.objects.get(recipient=creator, kind="tip_received")
    assert note.data["text"].replace("\xa0", " ") == "hat dir 5,00 € Trinkgeld gegeben"


def test_a_german_person_types_a_decimal_comma_and_pays_exactly_that():
    import re

    from payments.wallets.models import Transfer

    alice, bob = person(language="de"), person()
    fund(alice, 5000, "EUR")
    client = Client()
    client.force_login(alice)

    review = client.post("/wallet/send", {"to": bob.handle, "amount": "7,50", "currency": "EUR"})
    html = review.content.decode().replace("\xa0", " ")
    assert review.status_code == 200
    assert "7,50 €" in html
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))
    confirm = client.post("/wallet/send/confirm", hidden)

    assert confirm.status_code == 302
    assert Transfer.objects.get(sender=alice).amount == 750
