"""The interface's values refuse nonsense at construction, and the factory picks adapters."""

from __future__ import annotations

import pytest

from payments.processors import get_processor
from payments.processors.base import BankAccountRequest, PaymentRequest, PayoutRequest
from payments.processors.sandbox.adapter import SandboxProcessor
from payments.processors.stripe_adapter import StripeProcessor


@pytest.mark.parametrize("amount", [0, -1, 1.5, True, "100", None, 10**12])
def test_payment_amounts_are_positive_ints(amount):
    with pytest.raises(ValueError):
        PaymentRequest(
            amount=amount, currency="USD", payment_method="pm_card_visa", idempotency_key="k"
        )


@pytest.mark.parametrize("currency", ["usd", "US", "USDX", "", None, "ÜSD"])
def test_currencies_are_uppercase_iso_codes(currency):
    with pytest.raises(ValueError):
        PaymentRequest(
            amount=1, currency=currency, payment_method="pm_card_visa", idempotency_key="k"
        )


@pytest.mark.parametrize("key", ["", "x" * 256, None])
def test_idempotency_keys_are_required_and_bounded(key):
    with pytest.raises(ValueError):
        PayoutRequest(amount=1, currency="USD", destination="acct_1", idempotency_key=key)


def test_a_bank_account_is_a_token_or_a_number_not_both():
    with pytest.raises(ValueError):
        BankAccountRequest(
            account_id="acct_1",
            idempotency_key="k",
            token="btok_us_verified",
            account_number="000123456789",
        )
    with pytest.raises(ValueError):
        BankAccountRequest(account_id="acct_1", idempotency_key="k")


def test_get_processor_follows_the_setting(settings):
    settings.PAYMENTS_PROCESSOR = "sandbox"
    assert isinstance(get_processor(), SandboxProcessor)
    settings.STRIPE_API_KEY = "sk_test_x"
    settings.STRIPE_API_BASE = "http://127.0.0.1:1"
    assert isinstance(get_processor("stripe"), StripeProcessor)
    with pytest.raises(ValueError):
        get_processor("paypal")
