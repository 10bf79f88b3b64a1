"""Wallets and P2P money: top-ups, transfers, money requests, limits, receipts, feed.

Public services for other payments areas (stable API):

* ``payments.wallets.transfers.transfer_create`` — move money between two people's wallets.
* ``payments.wallets.limits.limits_reserve`` / ``limits_release`` / ``limits_summary`` —
  the sender's weekly and per-transfer limits (lock contract in the docstrings).
* ``payments.wallets.receipts.receipts_send`` — notifications + e-mails written to the
  outbox in the caller's transaction, delivered once per key after commit.

A wallet is the ledger account ``ledger.chart.wallet_key(user_id, currency)``; every
ledger key is built in ``ledger.chart``.
"""
