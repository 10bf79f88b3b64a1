"""A small typed client for the SocialPay REST API (see the project's README and
``docs/api-changelog.md``)."""

from socialpay_client.client import API_VERSION, SocialPay, new_idempotency_key
from socialpay_client.errors import RetriesExhausted, SocialPayError
from socialpay_client.models import (
    Balance,
    Me,
    Money,
    MoneyRequest,
    PublicTip,
    StatementLine,
    Tip,
    Transfer,
)

__all__ = [
    "API_VERSION",
    "Balance",
    "Me",
    "Money",
    "MoneyRequest",
    "PublicTip",
    "RetriesExhausted",
    "SocialPay",
    "SocialPayError",
    "StatementLine",
    "Tip",
    "Transfer",
    "new_idempotency_key",
]
