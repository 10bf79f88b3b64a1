"""Typed answers of the SocialPay API: frozen dataclasses built from the JSON.

Every amount is a ``Money`` (``{"amount": 1250, "currency": "EUR"}`` on the wire: integer
minor units, 12.50 €, and an upper-case ISO 4217 currency); times are aware ``datetime``
values in UTC (the API sends RFC 3339 with ``Z``).
Fields the API adds later are ignored, so a newer server does not break an older client.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Money:
    amount: int
    currency: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Money:
        return cls(amount=data["amount"], currency=data["currency"])


@dataclass(frozen=True, slots=True)
class Me:
    handle: str
    display_name: str
    email: str
    email_verified: bool
    mfa_enabled: bool
    language: str
    date_joined: datetime

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Me:
        return cls(
            handle=data["handle"],
            display_name=data["display_name"],
            email=data["email"],
            email_verified=data["email_verified"],
            mfa_enabled=data["mfa_enabled"],
            language=data["language"],
            date_joined=datetime.fromisoformat(data["date_joined"]),
        )


@dataclass(frozen=True, slots=True)
class Balance:
    currency: str
    available: Money
    pending: Money

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Balance:
        return cls(
            currency=data["currency"],
            available=Money.from_json(data["available"]),
            pending=Money.from_json(data["pending"]),
        )


@dataclass(frozen=True, slots=True)
class StatementLine:
    entry_id: int
    posting_id: int
    created_at: datetime
    description: str
    counterparty: str | None
    amount: Money
    balance_after: Money

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StatementLine:
        return cls(
            entry_id=data["entry_id"],
            posting_id=data["posting_id"],
            created_at=datetime.fromisoformat(data["created_at"]),
            description=data["description"],
            counterparty=data["counterparty"],
            amount=Money.from_json(data["amount"]),
            balance_after=Money.from_json(data["balance_after"]),
        )


@dataclass(frozen=True, slots=True)
class Transfer:
    id: int
    sender: str
    recipient: str
    amount: Money
    fee: Money
    note: str
    visibility: str
    status: str
    entry_id: int | None
    created_at: datetime

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Transfer:
        return cls(
            id=data["id"],
            sender=data["from"],
            recipient=data["to"],
            amount=Money.from_json(data["amount"]),
            fee=Money.from_json(data["fee"]),
            note=data["note"],
            visibility=data["visibility"],
            status=data["status"],
            entry_id=data["entry_id"],
            created_at=datetime.fromisoformat(data["created_at"]),
        )


@dataclass(frozen=True, slots=True)
class MoneyRequest:
    id: int
    payer: str
    requester: str
    amount: Money
    note: str
    status: str
    transfer: int | None
    created_at: datetime

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MoneyRequest:
        return cls(
            id=data["id"],
            payer=data["from"],
            requester=data["to"],
            amount=Money.from_json(data["amount"]),
            note=data["note"],
            status=data["status"],
            transfer=data["transfer"],
            created_at=datetime.fromisoformat(data["created_at"]),
        )


@dataclass(frozen=True, slots=True)
class Tip:
    id: int
    post: int | None
    creator: str
    amount: Money
    fee: Money
    net: Money
    note: str
    visibility: str
    status: str
    created_at: datetime

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Tip:
        return cls(
            id=data["id"],
            post=data["post"],
            creator=data["creator"],
            amount=Money.from_json(data["amount"]),
            fee=Money.from_json(data["fee"]),
            net=Money.from_json(data["net"]),
            note=data["note"],
            visibility=data["visibility"],
            status=data["status"],
            created_at=datetime.fromisoformat(data["created_at"]),
        )


@dataclass(frozen=True, slots=True)
class PublicTip:
    id: int
    tipper: str
    note: str
    amount: Money | None  # only when the tipper chose to show it
    created_at: datetime

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PublicTip:
        return cls(
            id=data["id"],
            tipper=data["from"],
            note=data["note"],
            amount=Money.from_json(data["amount"]) if data["amount"] else None,
            created_at=datetime.fromisoformat(data["created_at"]),
        )
