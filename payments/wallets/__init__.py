"""Wallets and P2P money: top-ups, transfers, money requests, limits, receipts, feed.

Public services for other payments areas (stable API):

* ``payments.wallets.payer.payer_check`` — the one rule every outgoing payment checks in its
  transaction: the payer read fresh and share-locked, not frozen, verified where needed,
  within its per-payment limit, re-authenticated above ``WALLET_REAUTH_ABOVE`` (the
  step-up decision: ``stepup_required``); ``payments.wallets.stepup`` is its pages' half.
* ``payments.wallets.text.note_clean`` / ``visibility_parse`` — what people type alongside
  money, parsed the same way by every flow.
* ``payments.wallets.transfers.transfer_create`` — move money between two people's wallets.
* ``payments.wallets.limits.limits_reserve`` / ``limits_release`` / ``limits_summary`` —
  the sender's weekly and per-transfer limits (lock contract in the docstrings).
* ``payments.wallets.receipts.payment_receipts`` — the receipts of both sides of a money
  event, each in its reader's language, written to the outbox in the event's transaction
  (``receipt_send`` for a single one).

A wallet is the ledger account ``ledger.chart.wallet_key(user_id, currency)``; every
ledger key is built in ``ledger.chart``.
"""
