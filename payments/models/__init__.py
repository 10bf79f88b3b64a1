"""Payments models, one module per area (webhooks, wallets, payouts, creators, FX …).

Each area's module holds its models and its design docstring; this package only gathers
them so that Django finds every model under the ``payments`` app label.
"""

from payments.models.disputes import Dispute
from payments.models.payouts import (
    Payout,
    PayoutAccount,
    PayoutDestination,
    PayoutEvent,
)
from payments.models.reconciliation import ReconciliationDifference, ReconciliationReport
from payments.models.webhooks import WebhookDelivery, WebhookEvent

__all__ = [
    "Dispute",
    "Payout",
    "PayoutAccount",
    "PayoutDestination",
    "PayoutEvent",
    "ReconciliationDifference",
    "ReconciliationReport",
    "WebhookDelivery",
    "WebhookEvent",
]
