"""Creator money flows: every write of tips, unlocks, products and orders, memberships.

One shape for every money flow
==============================

Every payment here has the shape of the P2P transfer (``payments.wallets.transfers``),
the template of the project's money flows:

    ONE transaction that
    1. checks the payer — fresh from the database and share-locked, not frozen, within its
       per-payment limit, re-authenticated when the amount asks for it
       (``payments.wallets.payer.payer_check``, the one rule of every outgoing payment);
    2. reserves the payer's weekly and velocity limits (the ``SendLimit`` row);
    3. writes the business row (a ``Tip``, ``Unlock``, ``Order``, ``OrderRefund``,
       ``MembershipCharge``) and whatever else the flow changes (stock, the membership's
       period);
    4. books the ledger entry — ``ledger.services.entry_post`` joins the caller's
       transaction as a savepoint, with an idempotency key derived from the row id
       (``creators:tip:{id}`` …);
    5. marks the row done, pointing at its entry;
    6. writes the receipts of both sides to the outbox (``payment_receipts``), delivered
       after commit by the worker.

The transaction is the caller's when there is one (the API's one-transaction idempotency
record joins it, so the stored response commits with the payment) or its own. A refusal
anywhere — insufficient funds, a limit, a freeze, out of stock — raises, and the whole
transaction rolls back: no row, no entry, no receipt, no reservation, the stock untouched.
A crash before the commit leaves nothing behind, so nothing is ever half done and no
sweeper is needed. A retry with the same request key finds the committed row (a UNIQUE
constraint decides a race: the row is inserted ``ON CONFLICT DO NOTHING``,
``common.payment_insert``) instead of paying twice.

Several steps only where a processor call sits between them — card tips: record the
intent and commit, call the processor with a key from the row id (no transaction open),
record the outcome; the processor's webhook then books the entry in one transaction of
the shape above. ``tips_card_sweep`` asks the processor about card tips whose webhook never
came: the only sweeper of this package.

Postings (fee at the rate of ``settings.CREATOR_FEE_SCHEDULE``; see ``fees.py``):

- tip / unlock / membership charge: D wallet:payer gross · C wallet:creator net · C fees fee
- card tip (webhook): D processor_clearing gross · C wallet:creator net · C fees fee
- order paid: D wallet:buyer amount · C escrow amount
- order released: D escrow (amount - refunded) · C wallet:seller net · C fees fee
- order refund (before release): D escrow refund · C wallet:buyer refund; a full refund
  also puts the order's quantity back in stock (partial refunds do not)

Lock order: the payer's user row (share), its ``SendLimit`` row, then the flow's own rows
(the product's stock row, a locked order or membership), then the paying wallet (the
ledger). Decisions about an existing order or membership lock its row first
(``SELECT … FOR UPDATE``).

Membership renewals are paid by nobody present: they skip the step-up and the limits (the
member authorised them when joining; a limit must not silently end a membership), but a
frozen member's renewal is not paid.

Modules: ``common`` (shared checks and postings), ``tips``, ``unlocks`` (and paid content),
``orders`` (products, orders, escrow), ``memberships``, ``publishing`` (a post with its
locked content and a product in one step). Everything public is importable from
this package.
"""

from payments.creators.services.common import (
    MAX_ORDER_QUANTITY,
    MAX_PAYMENT_MINOR,
    SWEEP_BATCH,
    amount_check,
    post_get_for_payment,
)
from payments.creators.services.memberships import (
    membership_cancel,
    membership_renew,
    membership_subscribe,
    memberships_renew_due,
    tier_create,
)
from payments.creators.services.orders import (
    order_confirm,
    order_create,
    order_refund,
    order_release,
    order_ship,
    orders_release_due,
    product_check,
    product_create,
)
from payments.creators.services.publishing import post_with_extras_publish
from payments.creators.services.tips import (
    CARD_TIP_KIND,
    TipPaymentMismatch,
    creators_sweep_stuck,
    tip_fail_card,
    tip_send,
    tip_send_card,
    tip_settle_card,
    tip_settle_card_event,
    tips_card_sweep,
)
from payments.creators.services.unlocks import (
    paid_content_check,
    paid_post_create,
    post_set_paid_content,
    unlock_purchase,
)

__all__ = [
    "CARD_TIP_KIND",
    "MAX_ORDER_QUANTITY",
    "MAX_PAYMENT_MINOR",
    "SWEEP_BATCH",
    "TipPaymentMismatch",
    "amount_check",
    "creators_sweep_stuck",
    "membership_cancel",
    "membership_renew",
    "membership_subscribe",
    "memberships_renew_due",
    "order_confirm",
    "order_create",
    "order_refund",
    "order_release",
    "order_ship",
    "orders_release_due",
    "paid_content_check",
    "paid_post_create",
    "post_get_for_payment",
    "post_set_paid_content",
    "post_with_extras_publish",
    "product_check",
    "product_create",
    "tier_create",
    "tip_fail_card",
    "tip_send",
    "tip_send_card",
    "tip_settle_card",
    "tip_settle_card_event",
    "tips_card_sweep",
    "unlock_purchase",
]
