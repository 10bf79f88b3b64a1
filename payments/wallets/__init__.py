"""Wallets and P2P money: top-ups, transfers, money requests, limits, receipts, feed.

Public services for other payments areas (stable API):

* ``payments.wallets.transfers.transfer_create`` — move money between two people's wallets.
* ``payments.wallets.limits.limits_reserve`` / ``limits_release`` / ``limits_summary`` —
  the sender's weekly and per-transfer limits (lock contract in the docstrings).
* ``payments.wallets.receipts.receipt_send`` — a notification + e-mail, once per key, after
  commit.
* ``payments.wallets.accounts.wallet_key`` — the ledger key of a person's wallet.
"""
