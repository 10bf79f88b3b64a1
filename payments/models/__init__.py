"""Payments models, one module per area (webhooks, wallets, payouts, creators, FX …).

Each area's module holds its models and its design docstring; this package only gathers
them so that Django finds every model under the ``payments`` app label.
"""

from payments.models.creators import (
    Membership,
    MembershipCharge,
    MembershipTier,
    Order,
    OrderRefund,
    Tip,
    Unlock,
)
from payments.models.disputes import Dispute
from payments.models.fx import FxQuote, FxRateSnapshot
from payments.models.payouts import (
    Payout,
    PayoutAccount,
    PayoutDestination,
    PayoutEvent,
)
from payments.models.reconciliation import ReconciliationDifference, ReconciliationReport
from payments.models.wallet import (
    MoneyRequest,
    Receipt,
    ReceiptOutbox,
    SendLimit,
    TopUp,
    Transfer,
    VerificationRequest,
)
from payments.models.webhooks import WebhookDelivery, WebhookEvent

__all__ = [
    "Dispute",
    "FxQuote",
    "FxRateSnapshot",
    "Membership",
    "MembershipCharge",
    "MembershipTier",
    "MoneyRequest",
    "Order",
    "OrderRefund",
    "Payout",
    "PayoutAccount",
    "PayoutDestination",
    "PayoutEvent",
    "Receipt",
    "ReceiptOutbox",
    "ReconciliationDifference",
    "ReconciliationReport",
    "SendLimit",
    "Tip",
    "TopUp",
    "Transfer",
    "Unlock",
    "VerificationRequest",
    "WebhookDelivery",
    "WebhookEvent",
]
