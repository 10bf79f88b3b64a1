"""One contract, two adapters: the sandbox (real, its own tables) and Stripe (through the
local stub server). Every test runs against both."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from payments.processors import objects
from payments.processors.base import (
    BankAccountRequest,
    CardDeclined,
    ConnectedAccountRequest,
    DebitCardRequest,
    PaymentRequest,
    PaymentStatus,
    PayoutRequest,
    PayoutStatus,
    PermanentProcessorError,
    RefundRequest,
    WebhookSignatureError,
)

# The sandbox keeps its records in the database; the Stripe runs simply do not touch it.
pytestmark = pytest.mark.django_db


def key(label: str) -> str:
    return f"{label}:{uuid.uuid4().hex}"


def pay(driver, method: str = "pm_card_visa", amount: int = 5000, k: str | None = None):
    return driver.processor.create_payment(
        PaymentRequest(
            amount=amount,
            currency="USD",
            payment_method=method,
            idempotency_key=k or key("topup"),
            metadata={"topup": "42"},
        )
    )


@pytest.mark.parametrize("method", ["pm_card_visa", "pm_card_mastercard"])
def test_a_good_card_succeeds_with_the_documented_fee(driver, method):
    payment = pay(driver, method, amount=5000)

    assert payment.status == PaymentStatus.SUCCEEDED
    assert (payment.amount, payment.currency) == (5000, "USD")
    assert payment.fee == 175  # 2.9 % of 50.00 = 1.45, plus 0.30
    assert payment.net == 4825
    assert payment.charge_id
    assert payment.metadata == {"topup": "42"}
    assert driver.processor.retrieve_payment(payment.id) == payment


@pytest.mark.parametrize(
    ("method", "decline_code"),
    [
        ("pm_card_chargeDeclined", "generic_decline"),
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
        ("pm_card_chargeDeclinedExpiredCard", "expired_card"),
    ],
)
def test_a_declined_card_raises_card_declined_with_the_reason(driver, method, decline_code):
    with pytest.raises(CardDeclined) as caught:
        pay(driver, method)

    assert caught.value.code == "card_declined"
    assert caught.value.decline_code == decline_code
    assert caught.value.message
    payment = driver.processor.retrieve_payment(caught.value.payment_id)
    assert payment.status == PaymentStatus.REQUIRES_PAYMENT_METHOD
    assert payment.decline_code in {decline_code, "card_declined"}
    assert payment.fee is None


def test_authentication_required_needs_a_confirmation(driver):
    payment = pay(driver, "pm_card_authenticationRequired")
    assert payment.status == PaymentStatus.REQUIRES_ACTION
    assert payment.next_action is not None
    assert payment.fee is None

    confirmed = driver.processor.confirm_payment(payment.id, idempotency_key=key("confirm"))

    assert confirmed.status == PaymentStatus.SUCCEEDED
    assert confirmed.id == payment.id
    assert confirmed.fee == 175


def test_the_same_key_and_params_replay_the_same_payment(driver):
    k = key("topup")
    first = pay(driver, k=k)
    again = pay(driver, k=k)

    assert again.id == first.id
    charges = [
        t
        for t in driver.processor.list_balance_transactions(limit=100).items
        if t.source == first.charge_id
    ]
    assert len(charges) == 1  # charged once


def test_the_same_key_with_other_params_is_refused(driver):
    k = key("topup")
    pay(driver, amount=5000, k=k)

    with pytest.raises(PermanentProcessorError) as caught:
        pay(driver, amount=6000, k=k)
    assert caught.value.code == "idempotency_error"


def test_a_replayed_decline_is_the_same_decline(driver):
    k = key("topup")
    with pytest.raises(CardDeclined) as first:
        pay(driver, "pm_card_chargeDeclinedInsufficientFunds", k=k)
    with pytest.raises(CardDeclined) as again:
        pay(driver, "pm_card_chargeDeclinedInsufficientFunds", k=k)
    assert again.value.payment_id == first.value.payment_id
    assert again.value.decline_code == "insufficient_funds"


def test_an_unknown_payment_method_is_a_permanent_error(driver):
    with pytest.raises(PermanentProcessorError) as caught:
        pay(driver, "pm_card_doesNotExist")
    assert caught.value.code == "resource_missing"
    assert not isinstance(caught.value, CardDeclined)


def test_partial_then_full_refund(driver):
    payment = pay(driver, amount=5000)

    partial = driver.processor.refund_payment(
        RefundRequest(payment_id=payment.id, amount=1000, idempotency_key=key("refund"))
    )
    rest = driver.processor.refund_payment(
        RefundRequest(payment_id=payment.id, idempotency_key=key("refund"))
    )

    assert (partial.amount, partial.currency, partial.status) == (1000, "USD", "succeeded")
    assert rest.amount == 4000
    assert partial.payment_id == payment.id
    assert driver.processor.retrieve_payment(payment.id).amount_refunded == 5000
    with pytest.raises(PermanentProcessorError) as caught:
        driver.processor.refund_payment(
            RefundRequest(payment_id=payment.id, amount=1, idempotency_key=key("refund"))
        )
    assert caught.value.code == "charge_already_refunded"


def test_refunding_more_than_was_paid_is_refused(driver):
    payment = pay(driver, amount=500)
    with pytest.raises(PermanentProcessorError) as caught:
        driver.processor.refund_payment(
            RefundRequest(payment_id=payment.id, amount=501, idempotency_key=key("refund"))
        )
    assert caught.value.code == "amount_too_large"


def _payee(
    driver,
    account_number: str,
    *,
    routing_number: str | None = "110000000",
    country: str = "US",
    currency: str = "USD",
):
    account = driver.processor.create_connected_account(
        ConnectedAccountRequest(idempotency_key=key("acct"), email="creator@example.com")
    )
    bank = driver.processor.attach_bank_account(
        BankAccountRequest(
            account_id=account.id,
            idempotency_key=key("bank"),
            account_number=account_number,
            routing_number=routing_number,
            country=country,
            currency=currency,
            account_holder_name="Ada Lovelace",
        )
    )
    assert bank.last4 == account_number[-4:]
    assert bank.account_id == account.id
    assert (bank.country, bank.currency) == (country, currency)
    return account


# One shape per country, with Stripe's test values: the IBAN alone, or a national account
# number with the bank code in routing_number (sort code, transit-institution, BSB, IFSC).
COUNTRY_SHAPES = [
    ("DE", "EUR", "DE89370400440532013000", None),
    ("FR", "EUR", "FR1420041010050500013M02606", None),
    ("CH", "CHF", "CH9300762011623852957", None),
    ("GB", "GBP", "00012345", "108800"),
    ("US", "USD", "000123456789", "110000000"),
    ("CA", "CAD", "000123456789", "11000-000"),
    ("AU", "AUD", "000123456", "110000"),
    ("IN", "INR", "000123456789", "HDFC0000261"),
]


@pytest.mark.parametrize(("country", "currency", "number", "routing"), COUNTRY_SHAPES)
def test_each_country_shape_attaches_and_is_paid_in_its_currency(
    driver, country, currency, number, routing
):
    account = _payee(driver, number, routing_number=routing, country=country, currency=currency)
    payout = driver.processor.create_payout(
        PayoutRequest(
            amount=2500, currency=currency, destination=account.id, idempotency_key=key("po")
        )
    )
    assert (payout.amount, payout.currency) == (2500, currency)
    driver.settle_payout(payout.id)
    settled = driver.processor.retrieve_payout(payout.id, destination=account.id)
    assert settled.status == PayoutStatus.PAID


@pytest.mark.parametrize(
    ("country", "currency", "number", "routing", "code"),
    [
        ("GB", "GBP", "00012345", None, "routing_number_invalid"),  # no test default filled
        ("US", "USD", "000123456789", None, "routing_number_invalid"),
        ("DE", "EUR", "DE89370400440532013000", "37040044", "routing_number_invalid"),
        ("FR", "EUR", "DE89370400440532013000", None, "account_number_invalid"),
        ("DE", "EUR", "DE12370400440532013999", None, "account_number_invalid"),
    ],
)
def test_an_incomplete_or_foreign_shape_is_refused(
    driver, country, currency, number, routing, code
):
    with pytest.raises(PermanentProcessorError) as caught:
        _payee(driver, number, routing_number=routing, country=country, currency=currency)
    assert caught.value.code == code


def test_a_payout_in_another_currency_than_the_bank_is_refused(driver):
    account = _payee(
        driver, "DE89370400440532013000", routing_number=None, country="DE", currency="EUR"
    )
    with pytest.raises(PermanentProcessorError) as caught:
        driver.processor.create_payout(
            PayoutRequest(
                amount=100, currency="USD", destination=account.id, idempotency_key=key("po")
            )
        )
    assert caught.value.code == "no_external_account"


@pytest.mark.parametrize(
    ("iban", "status", "failure_code"),
    [
        ("DE62370400440532013001", PayoutStatus.FAILED, "no_account"),
        ("DE35370400440532013002", PayoutStatus.FAILED, "account_closed"),
    ],
)
def test_a_test_iban_fails_asynchronously(driver, iban, status, failure_code):
    account = _payee(driver, iban, routing_number=None, country="DE", currency="EUR")
    payout = driver.processor.create_payout(
        PayoutRequest(amount=900, currency="EUR", destination=account.id, idempotency_key=key("po"))
    )
    assert payout.status == PayoutStatus.PENDING  # failures are never on create
    driver.settle_payout(payout.id)
    settled = driver.processor.retrieve_payout(payout.id, destination=account.id)
    assert (settled.status, settled.failure_code) == (status, failure_code)


def test_a_sepa_payout_can_fail_after_it_was_paid(driver):
    account = _payee(
        driver, "DE67370400440532013008", routing_number=None, country="DE", currency="EUR"
    )
    payout = driver.processor.create_payout(
        PayoutRequest(amount=700, currency="EUR", destination=account.id, idempotency_key=key("po"))
    )
    driver.settle_payout(payout.id)
    driver.settle_payout(payout.id)
    settled = driver.processor.retrieve_payout(payout.id, destination=account.id)
    assert (settled.status, settled.failure_code) == (PayoutStatus.FAILED, "could_not_process")


@pytest.mark.parametrize(
    ("account_number", "status", "failure_code"),
    [
        ("000123456789", PayoutStatus.PAID, None),
        ("000111111116", PayoutStatus.FAILED, "no_account"),
        ("000111111113", PayoutStatus.FAILED, "account_closed"),
    ],
)
def test_a_payout_settles_asynchronously(driver, account_number, status, failure_code):
    account = _payee(driver, account_number)
    k = key("payout")
    request = PayoutRequest(amount=10000, currency="USD", destination=account.id, idempotency_key=k)

    payout = driver.processor.create_payout(request)
    assert payout.status == PayoutStatus.PENDING
    assert (payout.amount, payout.currency, payout.destination) == (10000, "USD", account.id)
    assert driver.processor.create_payout(request).id == payout.id  # a retry is the same payout

    driver.settle_payout(payout.id)

    settled = driver.processor.retrieve_payout(payout.id, destination=account.id)
    assert settled.status == status
    assert settled.failure_code == failure_code
    events = [json.loads(b)["type"] for b in driver.event_bodies(payout.id)]
    assert events == ["payout.created", f"payout.{status}"]


def test_a_payout_can_fail_after_it_was_paid(driver):
    account = _payee(driver, "000888888883")
    payout = driver.processor.create_payout(
        PayoutRequest(amount=700, currency="USD", destination=account.id, idempotency_key=key("po"))
    )
    driver.settle_payout(payout.id)
    driver.settle_payout(payout.id)

    settled = driver.processor.retrieve_payout(payout.id, destination=account.id)
    assert (settled.status, settled.failure_code) == (PayoutStatus.FAILED, "could_not_process")
    types = [json.loads(b)["type"] for b in driver.event_bodies(payout.id)]
    assert types == ["payout.created", "payout.paid", "payout.failed"]


def test_a_payout_to_an_account_without_a_bank_is_refused(driver):
    account = driver.processor.create_connected_account(
        ConnectedAccountRequest(idempotency_key=key("acct"), email="c@example.com")
    )
    with pytest.raises(PermanentProcessorError) as caught:
        driver.processor.create_payout(
            PayoutRequest(
                amount=100, currency="USD", destination=account.id, idempotency_key=key("po")
            )
        )
    assert caught.value.code == "no_external_account"


def test_an_onboarding_link_is_an_url_that_expires(driver):
    account = driver.processor.create_connected_account(
        ConnectedAccountRequest(idempotency_key=key("acct"), email="c@example.com")
    )
    link = driver.processor.create_onboarding_link(
        account.id, refresh_url="https://sp.example/refresh", return_url="https://sp.example/back"
    )
    assert link.url.startswith("https://")
    assert link.expires_at.timestamp() > time.time()


def test_balance_transactions_report_charges_with_fees_and_refunds(driver):
    payment = pay(driver, amount=10000)
    refund = driver.processor.refund_payment(
        RefundRequest(payment_id=payment.id, amount=2500, idempotency_key=key("refund"))
    )

    page = driver.processor.list_balance_transactions(limit=2)

    newest, older = page.items
    assert (newest.type, newest.amount, newest.fee, newest.source) == (
        "refund",
        -2500,
        0,
        refund.id,
    )
    assert (older.type, older.amount, older.fee, older.net) == ("charge", 10000, 320, 9680)
    assert older.source == payment.charge_id
    assert older.currency == "USD"


@pytest.mark.parametrize(
    ("evidence", "outcome"), [("winning_evidence", "won"), ("losing_evidence", "lost")]
)
def test_a_dispute_is_reported_and_decided_by_the_evidence(driver, evidence, outcome):
    payment = pay(driver, "pm_card_createDispute", amount=3000)
    dispute_id = driver.open_dispute(payment.id)

    dispute = driver.processor.retrieve_dispute(dispute_id)
    assert (dispute.status, dispute.amount, dispute.currency) == ("needs_response", 3000, "USD")
    assert (dispute.payment_id, dispute.charge_id) == (payment.id, payment.charge_id)
    assert (
        driver.processor.submit_dispute_evidence(dispute_id, text=evidence).status == "under_review"
    )
    driver.close_dispute(dispute_id)

    assert driver.processor.retrieve_dispute(dispute_id).status == outcome
    types = [json.loads(b)["type"] for b in driver.event_bodies(dispute_id)]
    assert types[:2] == ["charge.dispute.created", "charge.dispute.funds_withdrawn"]
    assert types[-1] == (
        "charge.dispute.funds_reinstated" if outcome == "won" else "charge.dispute.closed"
    )
    event = driver.processor.parse_webhook(
        driver.event_bodies(dispute_id)[1], driver.sign(driver.event_bodies(dispute_id)[1])
    )
    assert objects.dispute_from_object(event.data).id == dispute_id


def test_webhooks_of_a_payment_verify_and_parse(driver):
    payment = pay(driver)
    (body,) = driver.event_bodies(payment.id)

    event = driver.processor.parse_webhook(body, driver.sign(body))

    assert event.type == "payment_intent.succeeded"
    assert event.processor == driver.processor.name
    parsed = objects.payment_from_object(event.data)
    assert (parsed.id, parsed.status, parsed.amount) == (payment.id, PaymentStatus.SUCCEEDED, 5000)


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda d, body: {}, "invalid_signature"),
        (lambda d, body: {"Stripe-Signature": "garbage"}, "invalid_signature"),
        (lambda d, body: {"Stripe-Signature": "t=abc,v1=00"}, "invalid_signature"),
        (
            lambda d, body: {
                "Stripe-Signature": d.sign(body)["Stripe-Signature"].replace("v1=", "v1=0")
            },
            "invalid_signature",
        ),
        (lambda d, body: d.sign(body + b" "), "invalid_signature"),
        (lambda d, body: d.sign(body, int(time.time()) - 301), "stale_webhook"),
        (lambda d, body: d.sign(body, int(time.time()) + 301), "stale_webhook"),
    ],
    ids=["missing", "malformed", "bad-timestamp", "wrong-signature", "tampered", "stale", "future"],
)
def test_webhook_verification_refuses(driver, mutate, code):
    payment = pay(driver)
    (body,) = driver.event_bodies(payment.id)

    with pytest.raises(WebhookSignatureError) as caught:
        driver.processor.parse_webhook(body, mutate(driver, body))
    assert caught.value.code == code


def test_a_card_fingerprint_names_the_card_not_the_token(driver):
    visa = driver.processor.card_fingerprint("pm_card_visa")
    assert visa and visa == driver.processor.card_fingerprint("pm_card_visa")
    assert visa != driver.processor.card_fingerprint("pm_card_chargeDeclined")
    with pytest.raises(PermanentProcessorError) as exc:
        driver.processor.card_fingerprint("pm_card_nope")
    assert exc.value.code == "resource_missing"


# --- debit cards and instant payouts ------------------------------------------------------------


def _card_payee(driver, token: str = "tok_visa_debit"):
    account = driver.processor.create_connected_account(
        ConnectedAccountRequest(idempotency_key=key("acct"), email="creator@example.com")
    )
    card = driver.processor.attach_debit_card(
        DebitCardRequest(account_id=account.id, idempotency_key=key("card"), token=token)
    )
    return account, card


@pytest.mark.parametrize(
    ("token", "brand", "last4"),
    [
        ("tok_visa_debit", "Visa", "5556"),
        ("pm_card_visa_debit", "Visa", "5556"),
        ("tok_mastercard_debit", "MasterCard", "8210"),
    ],
)
def test_a_debit_card_attaches_and_is_paid_instantly(driver, token, brand, last4):
    account, card = _card_payee(driver, token)
    assert (card.brand, card.last4, card.funding, card.currency) == (brand, last4, "debit", "USD")
    assert card.instant and card.account_id == account.id
    request = PayoutRequest(
        amount=1234,
        currency="USD",
        destination=account.id,
        idempotency_key=key("po"),
        method="instant",
        external_account=card.id,
    )
    payout = driver.processor.create_payout(request)
    assert (payout.method, payout.amount, payout.bank_account_id) == ("instant", 1234, card.id)
    assert payout.status == PayoutStatus.PENDING
    assert driver.processor.create_payout(request).id == payout.id  # a retry is the same payout
    driver.settle_payout(payout.id)
    settled = driver.processor.retrieve_payout(payout.id, destination=account.id)
    assert settled.status == PayoutStatus.PAID
    types = [json.loads(b)["type"] for b in driver.event_bodies(payout.id)]
    assert types == ["payout.created", "payout.paid"]
    (paid,) = [json.loads(b) for b in driver.event_bodies(payout.id)][1:]
    assert paid["data"]["object"]["type"] == "card"


@pytest.mark.parametrize("token", ["tok_visa", "pm_card_visa", "tok_amex", "tok_visa_prepaid"])
def test_a_card_that_is_not_a_debit_card_is_refused(driver, token):
    account = driver.processor.create_connected_account(
        ConnectedAccountRequest(idempotency_key=key("acct"), email="c@example.com")
    )
    with pytest.raises(PermanentProcessorError) as caught:
        driver.processor.attach_debit_card(
            DebitCardRequest(account_id=account.id, idempotency_key=key("card"), token=token)
        )
    assert caught.value.code == "invalid_card_type"


def test_a_bank_token_is_no_card(driver):
    account = driver.processor.create_connected_account(
        ConnectedAccountRequest(idempotency_key=key("acct"), email="c@example.com")
    )
    with pytest.raises(PermanentProcessorError) as caught:
        driver.processor.attach_debit_card(
            DebitCardRequest(
                account_id=account.id, idempotency_key=key("card"), token="btok_us_verified"
            )
        )
    assert caught.value.code == "invalid_card_type"


def test_an_unknown_card_token_is_refused(driver):
    account = driver.processor.create_connected_account(
        ConnectedAccountRequest(idempotency_key=key("acct"), email="c@example.com")
    )
    with pytest.raises(PermanentProcessorError) as caught:
        driver.processor.attach_debit_card(
            DebitCardRequest(account_id=account.id, idempotency_key=key("card"), token="tok_nope")
        )
    assert caught.value.code == "resource_missing"


def test_a_card_whose_payouts_fail_fails_asynchronously(driver):
    account, card = _card_payee(driver, "tok_visa_debit_transferFail")
    payout = driver.processor.create_payout(
        PayoutRequest(
            amount=500,
            currency="USD",
            destination=account.id,
            idempotency_key=key("po"),
            method="instant",
            external_account=card.id,
        )
    )
    assert payout.status == PayoutStatus.PENDING
    driver.settle_payout(payout.id)
    settled = driver.processor.retrieve_payout(payout.id, destination=account.id)
    assert (settled.status, settled.failure_code) == (PayoutStatus.FAILED, "could_not_process")


@pytest.mark.parametrize(("country", "currency", "number", "routing"), COUNTRY_SHAPES[5:7])
def test_an_instant_payout_to_a_bank_account_is_refused(driver, country, currency, number, routing):
    assert country in {"CA", "AU"}
    account = _payee(driver, number, routing_number=routing, country=country, currency=currency)
    with pytest.raises(PermanentProcessorError) as caught:
        driver.processor.create_payout(
            PayoutRequest(
                amount=100,
                currency=currency,
                destination=account.id,
                idempotency_key=key("po"),
                method="instant",
            )
        )
    assert caught.value.code == "instant_payouts_unsupported"


@pytest.mark.parametrize(
    ("country", "currency", "number", "routing", "amount"),
    [
        ("CA", "CAD", "000123456789", "11000-000", 123456),
        ("CA", "USD", "000123456789", "11000-000", 5000),
        ("AU", "AUD", "000123456", "110000", 99),
    ],
)
def test_canadian_and_australian_accounts_carry_their_currency(
    driver, country, currency, number, routing, amount
):
    account = _payee(driver, number, routing_number=routing, country=country, currency=currency)
    payout = driver.processor.create_payout(
        PayoutRequest(
            amount=amount, currency=currency, destination=account.id, idempotency_key=key("po")
        )
    )
    assert (payout.amount, payout.currency, payout.method) == (amount, currency, "standard")
    other = "AUD" if currency != "AUD" else "CAD"
    with pytest.raises(PermanentProcessorError) as caught:
        driver.processor.create_payout(
            PayoutRequest(
                amount=amount, currency=other, destination=account.id, idempotency_key=key("po")
            )
        )
    assert caught.value.code == "no_external_account"
