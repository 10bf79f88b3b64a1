"""The SocialPay API client: one ``httpx.Client``, typed answers, safe retries, and lists as
iterators over their pages.

Retries. A request that failed in a way worth retrying (the connection broke, the answer
timed out, 429, 502/503/504, or 409 ``idempotency_request_in_progress``) is sent again after
an exponential backoff, at most ``max_retries`` times. A POST that moves money carries an
``Idempotency-Key`` generated once per call and reused by every retry of it, so a transfer
whose answer was lost is never made twice: the server answers the retry with the first
answer (``Idempotent-Replayed: true``). POSTs without a key are not retried after the
request may have reached the server.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx

from socialpay_client.errors import RetriesExhausted, SocialPayError
from socialpay_client.models import (
    Balance,
    Me,
    MoneyRequest,
    PublicTip,
    StatementLine,
    Tip,
    Transfer,
)

#: The dated API version this client was written against (sent as ``SocialPay-Version``).
API_VERSION = "2026-12-06"
VERSION_HEADER = "SocialPay-Version"

T = TypeVar("T")

_RETRY_STATUSES = {429, 502, 503, 504}
_IN_PROGRESS = "idempotency_request_in_progress"


class SocialPay:
    """A client for one SocialPay server, authenticated by an API token.

    ``with SocialPay("https://socialpay.example", token="...") as sp: sp.me()``
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str,
        timeout: float = 10.0,
        max_retries: int = 3,
        backoff: float = 0.25,
        version: str = API_VERSION,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + "/api/v1/",
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                VERSION_HEADER: version,
                "User-Agent": "socialpay-client-python/0.1",
            },
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )
        self.max_retries = max_retries
        self.backoff = backoff
        self.wallet = Wallet(self)
        self.transfers = Transfers(self)
        self.requests = Requests(self)
        self.tips = Tips(self)

    # --- plumbing -------------------------------------------------------------------------
    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SocialPay:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        """Send one API call (with its retries) and return the decoded JSON answer.

        Raises ``SocialPayError`` for an error answer, ``RetriesExhausted`` when every try
        failed in a retryable way.
        """
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        # A GET or a keyed POST is safe to send again; an unkeyed POST only when it surely
        # never reached the server (the connection could not be opened).
        safe = method == "GET" or idempotency_key is not None
        last: Exception | None = None
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = self._http.request(
                    method, path.lstrip("/"), params=params, json=json, headers=headers
                )
            except httpx.ConnectError as exc:
                last = exc
                continue
            except httpx.TransportError as exc:
                if not safe:
                    raise
                last = exc
                continue
            if response.status_code < 400:
                return response.json() if response.content else None
            error = _error(response)
            retryable = response.status_code in _RETRY_STATUSES or error.code == _IN_PROGRESS
            if not (retryable and safe):
                raise error
            last = error
        raise RetriesExhausted(
            status=getattr(last, "status", 0),
            code=getattr(last, "code", "network_error"),
            message=f"gave up after {self.max_retries + 1} tries: {last}",
            details=getattr(last, "details", {}),
        )

    def paginate(
        self, path: str, parse: Callable[[dict[str, Any]], T], params: dict[str, Any] | None = None
    ) -> Iterator[T]:
        """Every item of a list, page after page (``?cursor=`` from ``next_cursor``)."""
        query = dict(params or {})
        while True:
            page = self.request("GET", path, params=query)
            for item in page["data"]:
                yield parse(item)
            if not page["has_more"]:
                return
            query["cursor"] = page["next_cursor"]

    # --- the profile ----------------------------------------------------------------------
    def me(self) -> Me:
        return Me.from_json(self.request("GET", "me"))


def new_idempotency_key() -> str:
    return str(uuid.uuid4())


def _error(response: httpx.Response) -> SocialPayError:
    try:
        body = response.json()["error"]
        code, message, details = body["code"], body["message"], body.get("details") or {}
    except (ValueError, KeyError, TypeError):
        code, message, details = "http_error", response.text[:200], {}
    return SocialPayError(
        status=response.status_code,
        code=code,
        message=message,
        details=details,
        request_id=response.headers.get("X-Request-ID"),
    )


class _Area:
    def __init__(self, client: SocialPay) -> None:
        self._client = client


class Wallet(_Area):
    def balances(self) -> list[Balance]:
        return [Balance.from_json(b) for b in self._client.request("GET", "wallet")["balances"]]

    def statement(
        self, *, currency: str | None = None, limit: int | None = None
    ) -> Iterator[StatementLine]:
        """Ledger lines of one currency's wallet, newest first, across every page."""
        params = {k: v for k, v in {"currency": currency, "limit": limit}.items() if v}
        return self._client.paginate("wallet/statement", StatementLine.from_json, params)


class Transfers(_Area):
    def create(
        self,
        *,
        to: str,
        amount: int,
        currency: str,
        note: str = "",
        visibility: str | None = None,
        idempotency_key: str | None = None,
    ) -> Transfer:
        """Pay ``to`` (a handle) ``amount`` minor units. Retried safely: one key per call
        (pass your own to make a retry across restarts of your program safe too)."""
        body: dict[str, Any] = {"to": to, "amount": amount, "currency": currency, "note": note}
        if visibility:
            body["visibility"] = visibility
        data = self._client.request(
            "POST",
            "transfers",
            json=body,
            idempotency_key=idempotency_key or new_idempotency_key(),
        )
        return Transfer.from_json(data)

    def get(self, transfer_id: int) -> Transfer:
        return Transfer.from_json(self._client.request("GET", f"transfers/{int(transfer_id)}"))


class Requests(_Area):
    def create(
        self,
        *,
        payer: str,
        amount: int,
        currency: str,
        note: str = "",
        idempotency_key: str | None = None,
    ) -> MoneyRequest:
        """Ask ``payer`` (a handle) for money."""
        body = {"from": payer, "amount": amount, "currency": currency, "note": note}
        data = self._client.request(
            "POST", "requests", json=body, idempotency_key=idempotency_key or new_idempotency_key()
        )
        return MoneyRequest.from_json(data)

    def list(self, *, box: str = "inbox", limit: int | None = None) -> Iterator[MoneyRequest]:
        """``inbox``: open requests you were asked to pay; ``sent``: yours, every status."""
        params: dict[str, Any] = {"box": box} | ({"limit": limit} if limit else {})
        return self._client.paginate("requests", MoneyRequest.from_json, params)

    def get(self, request_id: int) -> MoneyRequest:
        return MoneyRequest.from_json(self._client.request("GET", f"requests/{int(request_id)}"))

    def _act(self, request_id: int, action: str, idempotency_key: str | None) -> MoneyRequest:
        data = self._client.request(
            "POST",
            f"requests/{int(request_id)}/{action}",
            idempotency_key=idempotency_key or new_idempotency_key(),
        )
        return MoneyRequest.from_json(data)

    def pay(self, request_id: int, *, idempotency_key: str | None = None) -> MoneyRequest:
        return self._act(request_id, "pay", idempotency_key)

    def decline(self, request_id: int, *, idempotency_key: str | None = None) -> MoneyRequest:
        return self._act(request_id, "decline", idempotency_key)

    def cancel(self, request_id: int, *, idempotency_key: str | None = None) -> MoneyRequest:
        return self._act(request_id, "cancel", idempotency_key)


class Tips(_Area):
    def _send(self, path: str, body: dict[str, Any], idempotency_key: str | None) -> Tip:
        data = self._client.request(
            "POST", path, json=body, idempotency_key=idempotency_key or new_idempotency_key()
        )
        return Tip.from_json(data)

    def to_post(
        self,
        post_id: int,
        *,
        amount: int,
        currency: str,
        note: str = "",
        visibility: str = "private",
        show_amount: bool = False,
        idempotency_key: str | None = None,
    ) -> Tip:
        """Tip the author of a post from your wallet. A ``public`` tip is listed on the post
        (its amount only with ``show_amount``)."""
        body = {
            "amount": amount,
            "currency": currency,
            "note": note,
            "visibility": visibility,
            "show_amount": show_amount,
        }
        return self._send(f"posts/{int(post_id)}/tips", body, idempotency_key)

    def to_user(
        self,
        handle: str,
        *,
        amount: int,
        currency: str,
        note: str = "",
        idempotency_key: str | None = None,
    ) -> Tip:
        """Tip a creator (by handle) from your wallet."""
        body = {"amount": amount, "currency": currency, "note": note}
        return self._send(f"users/{handle}/tips", body, idempotency_key)

    def on_post(self, post_id: int, *, limit: int | None = None) -> Iterator[PublicTip]:
        """The public tips on a post, newest first, across every page."""
        params = {"limit": limit} if limit else {}
        return self._client.paginate(f"posts/{int(post_id)}/tips", PublicTip.from_json, params)
