"""Receipts by e-mail: a text part and the same words in the branded HTML layout (inline
styles, no external images), a link to the payment's detail page, in the recipient's
language."""

from __future__ import annotations

import pytest
from django.conf import settings

from core.money import Money
from payments.wallets.models import ReceiptOutbox
from payments.wallets.receipts import receipts_outbox_drain
from payments.wallets.selectors import payment_detail_url
from payments.wallets.tests.support import fund, person
from payments.wallets.transfers import transfer_create

pytestmark = pytest.mark.django_db


def _mails_of_a_payment(mailoutbox, capture, *, recipient_language: str = ""):
    alice, bob = person(), person(language=recipient_language)
    fund(alice, 5000)
    ReceiptOutbox.objects.all().delete()
    t = transfer_create(sender=alice, to=bob, money=Money(1250, "USD"), client_key="m1")
    mailoutbox.clear()
    with capture(execute=True):
        receipts_outbox_drain()
    by_address = {m.to[0]: m for m in mailoutbox}
    return by_address[alice.email], by_address[bob.email], t


def test_a_receipt_has_a_text_and_an_html_part_with_the_link(
    mailoutbox, django_capture_on_commit_callbacks
):
    sent, received, t = _mails_of_a_payment(mailoutbox, django_capture_on_commit_callbacks)
    link = settings.SITE_URL + payment_detail_url("transfer", t.pk)
    for mail in (sent, received):
        (html, mimetype), *_rest = mail.alternatives
        assert mimetype == "text/html"
        assert link in mail.body and f'href="{link}"' in html
        assert "View the payment" in mail.body and "View the payment" in html
        assert "$12.50" in mail.body and "$12.50" in html
        # E-mail clients: every style inline, nothing fetched from elsewhere.
        assert "<style" not in html and "<link" not in html and "<img" not in html
        assert 'style="' in html and "SocialPay" in html and 'lang="en"' in html
    assert mail.subject in html


def test_a_receipt_is_written_in_the_recipients_language(
    mailoutbox, django_capture_on_commit_callbacks
):
    sent, received, _t = _mails_of_a_payment(
        mailoutbox, django_capture_on_commit_callbacks, recipient_language="de"
    )
    html = received.alternatives[0][0]
    assert 'lang="de"' in html and "Zahlung ansehen" in html and "Zahlung ansehen" in received.body
    assert "View the payment" not in html
    assert "12,50" in received.body  # money formatted the German way
    assert "View the payment" in sent.body  # the sender reads English


def test_a_receipt_about_something_else_links_to_its_page():
    from payments.wallets.receipts import ReceiptSpec, receipt_email

    reader = person(language="de")
    spec = ReceiptSpec(
        key="verification:1:approved",
        kind="verification_approved",
        recipient_id=reader.pk,
        subject="Deine Identitätsprüfung wurde bestätigt",
        body="Deine Identitätsprüfung wurde bestätigt.",
        link="/wallet/verify",
    )
    mail = receipt_email(spec=spec, recipient=reader)
    html = mail.alternatives[0][0]
    assert f'href="{settings.SITE_URL}/wallet/verify"' in html
    assert "Details ansehen" in html and "Zahlung ansehen" not in html
