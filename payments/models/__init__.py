"""Payments models, one module per area (webhooks, wallets, payouts, creators, FX …).

Each area's module holds its models and its design docstring; this package only gathers
them so that Django finds every model under the ``payments`` app label.
"""

from payments.models.fx import FxQuote, FxRateSnapshot
from payments.models.wallet import (
    MoneyRequest,
    Receipt,
    SendLimit,
    TopUp,
    Transfer,
    VerificationRequest,
)
from payments.models.webhooks import WebhookDelivery, WebhookEvent

__all__ = [
    "FxQuote",
    "FxRateSnapshot",
    "MoneyRequest",
    "Receipt",
    "SendLimit",
    "TopUp",
    "Transfer",
    "VerificationRequest",
    "WebhookDelivery",
    "WebhookEvent",
]
