"""The Stripe adapter against the local stub: what goes over the wire, and how Stripe's
errors and webhooks are translated."""

from __future__ import annotations

import json
import socket
import time

import pytest
import stripe

from payments.conftest import STRIPE_TEST_KEY, STRIPE_TEST_SECRET
from payments.processors import signing
from payments.processors.base import (
    CardDeclined,
    PaymentRequest,
    PayoutRequest,
    PermanentProcessorError,
    TransientProcessorError,
    WebhookPayloadError,
    WebhookSignatureError,
)
from payments.processors.stripe_adapter import StripeProcessor


def _request(**overrides) -> PaymentRequest:
    values = {
        "amount": 1050,
        "currency": "EUR",
        "payment_method": "pm_card_visa",
        "idempotency_key": "topup:17",
        "description": "Top-up 17",
        "metadata": {"topup_id": "17"},
    }
    return PaymentRequest(**{**values, **overrides})


def test_create_payment_sends_the_idempotency_key_and_form_params(stripe_processor, stripe_stub):
    stripe_processor.create_payment(_request())

    (sent,) = stripe_stub.state.requests
    assert (sent.method, sent.path) == ("POST", "/v1/payment_intents")
    assert sent.headers["Idempotency-Key"] == "topup:17"
    assert sent.headers["Authorization"] == f"Bearer {STRIPE_TEST_KEY}"
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert sent.params == {
        "amount": "1050",
        "currency": "eur",
        "payment_method": "pm_card_visa",
        "payment_method_types": ["card"],
        "confirm": "true",
        "description": "Top-up 17",
        "metadata": {"topup_id": "17"},
        "expand": ["latest_charge.balance_transaction"],
    }


def test_a_retry_with_the_same_key_is_answered_from_stripes_idempotency(
    stripe_processor, stripe_stub
):
    first = stripe_processor.create_payment(_request())
    again = stripe_processor.create_payment(_request())

    assert again == first
    assert len(stripe_stub.state.intents) == 1
    assert [r.headers["Idempotency-Key"] for r in stripe_stub.state.requests] == ["topup:17"] * 2


def test_payout_is_a_transfer_then_a_payout_on_the_connected_account(stripe_processor, stripe_stub):
    from payments.processors.base import BankAccountRequest, ConnectedAccountRequest

    account = stripe_processor.create_connected_account(
        ConnectedAccountRequest(idempotency_key="acct:5", email="c@example.com")
    )
    stripe_processor.attach_bank_account(
        BankAccountRequest(
            account_id=account.id, idempotency_key="bank:5", token="btok_us_verified"
        )
    )
    stripe_stub.state.requests.clear()

    stripe_processor.create_payout(
        PayoutRequest(
            amount=2000, currency="USD", destination=account.id, idempotency_key="payout:9"
        )
    )

    transfer, payout = stripe_stub.state.requests
    assert (transfer.path, transfer.headers["Idempotency-Key"]) == (
        "/v1/transfers",
        "payout:9:transfer",
    )
    assert transfer.params["destination"] == account.id
    assert "Stripe-Account" not in transfer.headers
    assert (payout.path, payout.headers["Idempotency-Key"]) == ("/v1/payouts", "payout:9:payout")
    assert payout.headers["Stripe-Account"] == account.id
    assert payout.params == {"amount": "2000", "currency": "usd", "method": "standard"}


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, {"error": {"type": "api_error", "message": "boom"}}),
        (503, {"error": {"type": "api_error", "message": "down"}}),
        (
            429,
            {"error": {"type": "invalid_request_error", "code": "rate_limit", "message": "slow"}},
        ),
        (
            409,
            {
                "error": {
                    "type": "invalid_request_error",
                    "code": "idempotency_key_in_use",
                    "message": "busy",
                }
            },
        ),
    ],
)
def test_server_errors_and_rate_limits_are_transient(stripe_processor, stripe_stub, status, body):
    stripe_stub.state.fail_next.append((status, body))
    with pytest.raises(TransientProcessorError):
        stripe_processor.create_payment(_request())


def test_an_unreachable_api_is_transient():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    processor = StripeProcessor(
        api_key=STRIPE_TEST_KEY,
        webhook_secret=STRIPE_TEST_SECRET,
        api_base=f"http://127.0.0.1:{port}",
    )
    with pytest.raises(TransientProcessorError):
        processor.retrieve_payment("pi_123")


@pytest.mark.parametrize(
    ("status", "body", "kind", "code"),
    [
        (
            401,
            {"error": {"type": "invalid_request_error", "message": "bad key"}},
            PermanentProcessorError,
            "processor_error",
        ),
        (
            400,
            {
                "error": {
                    "type": "invalid_request_error",
                    "code": "parameter_invalid_integer",
                    "message": "x",
                }
            },
            PermanentProcessorError,
            "parameter_invalid_integer",
        ),
        (
            402,
            {
                "error": {
                    "type": "card_error",
                    "code": "card_declined",
                    "decline_code": "lost_card",
                    "message": "x",
                }
            },
            CardDeclined,
            "card_declined",
        ),
    ],
)
def test_client_errors_are_permanent(stripe_processor, stripe_stub, status, body, kind, code):
    stripe_stub.state.fail_next.append((status, body))
    with pytest.raises(kind) as caught:
        stripe_processor.create_payment(_request())
    assert caught.value.code == code
    assert not isinstance(caught.value, TransientProcessorError)


def test_card_declined_carries_stripes_decline_code(stripe_processor):
    with pytest.raises(CardDeclined) as caught:
        stripe_processor.create_payment(
            _request(payment_method="pm_card_chargeDeclinedInsufficientFunds")
        )
    assert caught.value.decline_code == "insufficient_funds"
    assert caught.value.payment_id.startswith("pi_")


def test_missing_api_key_is_refused():
    with pytest.raises(PermanentProcessorError) as caught:
        StripeProcessor(api_key="", webhook_secret="whsec_x")
    assert caught.value.code == "not_configured"


def _event() -> bytes:
    return json.dumps(
        {
            "id": "evt_1",
            "object": "event",
            "type": "payment_intent.succeeded",
            "created": int(time.time()),
            "livemode": False,
            "data": {
                "object": {
                    "id": "pi_1",
                    "object": "payment_intent",
                    "amount": 5,
                    "currency": "usd",
                    "status": "succeeded",
                }
            },
        }
    ).encode()


def test_our_signatures_are_stripes_signatures():
    body = _event()
    header = signing.signature_header(body, STRIPE_TEST_SECRET)

    event = stripe.Webhook.construct_event(body.decode(), header, STRIPE_TEST_SECRET)
    assert event.id == "evt_1"
    ours = stripe.WebhookSignature.generate_signature_header(
        body.decode(), STRIPE_TEST_SECRET, int(header[2:12])
    )
    assert ours == header


def test_parse_webhook_verifies_with_stripes_library(stripe_processor):
    body = _event()
    event = stripe_processor.parse_webhook(
        body, {"stripe-signature": signing.signature_header(body, STRIPE_TEST_SECRET)}
    )
    assert (event.id, event.type, event.processor) == (
        "evt_1",
        "payment_intent.succeeded",
        "stripe",
    )
    assert event.data["id"] == "pi_1"


def test_a_signed_body_that_is_not_json_is_a_payload_error(stripe_processor):
    body = b"not json"
    with pytest.raises(WebhookPayloadError):
        stripe_processor.parse_webhook(
            body, {"Stripe-Signature": signing.signature_header(body, STRIPE_TEST_SECRET)}
        )


def test_without_a_webhook_secret_nothing_verifies(stripe_stub):
    processor = StripeProcessor(
        api_key=STRIPE_TEST_KEY, webhook_secret="", api_base=stripe_stub.url
    )
    body = _event()
    with pytest.raises(WebhookSignatureError):
        processor.parse_webhook(body, {"Stripe-Signature": signing.signature_header(body, "")})


def test_connect_events_signed_with_the_second_secret_verify(stripe_stub):
    processor = StripeProcessor(
        api_key=STRIPE_TEST_KEY,
        webhook_secret=("whsec_platform", "whsec_connect"),
        api_base=stripe_stub.url,
    )
    body = _event()
    for secret in ("whsec_platform", "whsec_connect"):
        assert (
            processor.parse_webhook(
                body, {"Stripe-Signature": signing.signature_header(body, secret)}
            ).id
            == "evt_1"
        )
    with pytest.raises(WebhookSignatureError) as caught:
        processor.parse_webhook(
            body, {"Stripe-Signature": signing.signature_header(body, "whsec_other")}
        )
    assert caught.value.code == "invalid_signature"
    stale = signing.signature_header(body, "whsec_connect", int(time.time()) - 1000)
    with pytest.raises(WebhookSignatureError) as caught:
        processor.parse_webhook(body, {"Stripe-Signature": stale})
    assert caught.value.code == "stale_webhook"


@pytest.mark.parametrize(
    ("country", "currency", "number", "routing"),
    [
        ("DE", "EUR", "DE89370400440532013000", None),
        ("GB", "GBP", "00012345", "108800"),
        ("CA", "CAD", "000123456789", "11000-000"),
        ("AU", "AUD", "000123456", "110000"),
        ("IN", "INR", "000123456789", "HDFC0000261"),
    ],
)
def test_a_bank_account_is_sent_in_stripes_shape_for_its_country(
    stripe_processor, stripe_stub, country, currency, number, routing
):
    from payments.processors.base import BankAccountRequest, ConnectedAccountRequest

    account = stripe_processor.create_connected_account(
        ConnectedAccountRequest(idempotency_key=f"acct:{country}", email="c@example.com")
    )
    stripe_stub.state.requests.clear()
    stripe_processor.attach_bank_account(
        BankAccountRequest(
            account_id=account.id,
            idempotency_key=f"bank:{country}",
            account_number=number,
            routing_number=routing,
            country=country,
            currency=currency,
            account_holder_name="Ada Lovelace",
        )
    )

    (sent,) = stripe_stub.state.requests
    expected = {
        "object": "bank_account",
        "country": country,
        "currency": currency.lower(),
        "account_number": number,
        "account_holder_name": "Ada Lovelace",
    }
    if routing:
        expected["routing_number"] = routing
    assert sent.params["external_account"] == expected  # no routing number made up for an IBAN


def test_a_missing_routing_number_is_not_filled_with_a_test_one(stripe_processor, stripe_stub):
    from payments.processors.base import BankAccountRequest, ConnectedAccountRequest

    account = stripe_processor.create_connected_account(
        ConnectedAccountRequest(idempotency_key="acct:nr", email="c@example.com")
    )
    stripe_stub.state.requests.clear()
    with pytest.raises(PermanentProcessorError) as caught:
        stripe_processor.attach_bank_account(
            BankAccountRequest(
                account_id=account.id, idempotency_key="bank:nr", account_number="000123456789"
            )
        )
    assert caught.value.code == "routing_number_invalid"
    assert "routing_number" not in stripe_stub.state.requests[0].params["external_account"]


def test_a_debit_card_is_sent_as_a_card_token_external_account(stripe_processor, stripe_stub):
    from payments.processors.base import ConnectedAccountRequest, DebitCardRequest

    account = stripe_processor.create_connected_account(
        ConnectedAccountRequest(idempotency_key="acct:card", email="c@example.com")
    )
    stripe_stub.state.requests.clear()
    card = stripe_processor.attach_debit_card(
        DebitCardRequest(account_id=account.id, idempotency_key="card:1", token="tok_visa_debit")
    )

    (sent,) = stripe_stub.state.requests
    assert (sent.method, sent.path) == ("POST", f"/v1/accounts/{account.id}/external_accounts")
    assert sent.headers["Idempotency-Key"] == "card:1"
    # A card token, never a number; Stripe takes the card's currency from the account.
    assert sent.params == {"external_account": "tok_visa_debit", "default_for_currency": "true"}
    assert (card.funding, card.instant, card.last4) == ("debit", True, "5556")


def test_an_instant_payout_names_the_card_and_the_method(stripe_processor, stripe_stub):
    from payments.processors.base import ConnectedAccountRequest, DebitCardRequest

    account = stripe_processor.create_connected_account(
        ConnectedAccountRequest(idempotency_key="acct:inst", email="c@example.com")
    )
    card = stripe_processor.attach_debit_card(
        DebitCardRequest(account_id=account.id, idempotency_key="card:2", token="tok_visa_debit")
    )
    stripe_stub.state.requests.clear()
    payout = stripe_processor.create_payout(
        PayoutRequest(
            amount=2000,
            currency="USD",
            destination=account.id,
            idempotency_key="payout:10",
            method="instant",
            external_account=card.id,
        )
    )

    transfer, sent = stripe_stub.state.requests
    assert transfer.params["destination"] == account.id
    assert (sent.path, sent.headers["Stripe-Account"]) == ("/v1/payouts", account.id)
    assert sent.params == {
        "amount": "2000",
        "currency": "usd",
        "method": "instant",
        "destination": card.id,
    }
    assert (payout.method, payout.bank_account_id) == ("instant", card.id)


def test_stripes_refusal_of_a_credit_card_keeps_its_code(stripe_processor, stripe_stub):
    from payments.processors.base import ConnectedAccountRequest, DebitCardRequest

    account = stripe_processor.create_connected_account(
        ConnectedAccountRequest(idempotency_key="acct:cc", email="c@example.com")
    )
    with pytest.raises(PermanentProcessorError) as caught:
        stripe_processor.attach_debit_card(
            DebitCardRequest(account_id=account.id, idempotency_key="card:3", token="tok_visa")
        )
    assert caught.value.code == "invalid_card_type"
