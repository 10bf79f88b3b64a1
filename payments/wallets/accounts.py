"""Wallet accounts in the ledger: one per person per currency, created on first use."""

from __future__ import annotations

from ledger import chart


def wallet_key(user_id: int, currency: str) -> str:
    """The ledger key of a person's wallet (``wallet:user:{id}:{CUR}``)."""
    return chart.wallet_key(user_id, currency)
