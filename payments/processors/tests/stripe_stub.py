"""A local HTTP stand-in for Stripe's API, for testing the Stripe adapter offline.

It answers the handful of endpoints the adapter uses with Stripe-shaped JSON (the fields
of Stripe's recorded objects that the adapter reads, in Stripe's wire format: lowercase
currencies, unix times, ``{"error": {...}}`` bodies with 402 for card errors), honours
``Idempotency-Key`` the way Stripe does (replay the stored response; another body with the
same key → 400 ``idempotency_error``), and records every request so that tests can check
the headers and the form-encoded parameters the adapter sent.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from payments.processors.sandbox.engine import (
    BANK_TOKENS,
    CARD_DECLINES,
    CARDS_OK,
    NOT_DEBIT_MESSAGE,
    PAYMENT_METHODS,
    PAYOUT_FAILURES,
    bank_test_outcome,
    card_test_outcome,
    charge_fee,
    is_card_token,
)


def parse_form(body: str) -> dict[str, Any]:
    """Stripe's form encoding (``metadata[k]=v``, ``expand[0]=x``) → nested dicts/lists."""
    out: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = key.replace("]", "").split("[")
        node: Any = out
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            nxt_is_index = not last and (parts[i + 1].isdigit() or parts[i + 1] == "")
            if isinstance(node, list):
                if last:
                    node.append(value)
                    break
                if part == "" or int(part) >= len(node):
                    node.append([] if nxt_is_index else {})
                node = node[-1] if part == "" else node[int(part)]
                continue
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, [] if nxt_is_index else {})
    return out


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    params: dict[str, Any]
    raw: str


@dataclass
class StubState:
    requests: list[Recorded] = field(default_factory=list)
    intents: dict[str, dict] = field(default_factory=dict)
    payouts: dict[str, dict] = field(default_factory=dict)
    accounts: dict[str, dict] = field(default_factory=dict)
    banks: dict[str, dict] = field(default_factory=dict)  # account id -> bank json
    cards: dict[str, dict] = field(default_factory=dict)  # card id -> card json
    disputes: dict[str, dict] = field(default_factory=dict)
    balance: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    idempotency: dict[str, tuple[str, int, dict]] = field(default_factory=dict)
    fail_next: list[tuple[int, dict]] = field(default_factory=list)


class StripeStub:
    def __init__(self) -> None:
        self.state = StubState()
        self.lock = threading.Lock()
        self.ids = itertools.count(1)
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                url = urlsplit(self.path)
                params = parse_form(raw if self.command == "POST" else url.query)
                status, body = stub.dispatch(
                    self.command, url.path, {k: v for k, v in self.headers.items()}, params, raw
                )
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Request-Id", f"req_stub{next(stub.ids)}")
                self.end_headers()
                self.wfile.write(payload)

            do_GET = _handle
            do_POST = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> StripeStub:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- request handling -------------------------------------------------------------------

    def dispatch(self, method, path, headers, params, raw) -> tuple[int, dict]:
        with self.lock:
            self.state.requests.append(Recorded(method, path, headers, params, raw))
            if self.state.fail_next:
                return self.state.fail_next.pop(0)
            key = headers.get("Idempotency-Key")
            if method == "POST" and key:
                fingerprint = hashlib.sha256(f"{method} {path} {raw}".encode()).hexdigest()
                if key in self.state.idempotency:
                    seen, status, body = self.state.idempotency[key]
                    if seen != fingerprint:
                        return 400, {
                            "error": {
                                "type": "idempotency_error",
                                "message": "Keys for idempotent requests can only be used with "
                                "the same parameters they were first used with.",
                            }
                        }
                    return status, body
                status, body = self.route(method, path, headers, params)
                if body.get("error", {}).get("type") != "invalid_request_error":
                    self.state.idempotency[key] = (fingerprint, status, body)
                return status, body
            return self.route(method, path, headers, params)

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_stub{next(self.ids):08d}"

    def _emit(self, event_type: str, obj: dict, account: str | None = None) -> None:
        event = {
            "id": self._new_id("evt"),
            "object": "event",
            "api_version": "2025-01-27.acacia",
            "created": int(time.time()),
            "data": {"object": json.loads(json.dumps(obj))},
            "livemode": False,
            "type": event_type,
        }
        if account:
            event["account"] = account
        self.state.events.append(event)

    def _missing(self, kind: str, object_id: str) -> tuple[int, dict]:
        return 404, {
            "error": {
                "type": "invalid_request_error",
                "code": "resource_missing",
                "message": f"No such {kind}: '{object_id}'",
            }
        }

    def _invalid(self, message: str, code: str = "parameter_invalid") -> tuple[int, dict]:
        return 400, {"error": {"type": "invalid_request_error", "code": code, "message": message}}

    def route(self, method, path, headers, params) -> tuple[int, dict]:
        parts = path.strip("/").split("/")
        match method, parts:
            case "POST", ["v1", "payment_intents"]:
                return self.pi_create(params)
            case "POST", ["v1", "payment_intents", pi_id, "confirm"]:
                return self.pi_confirm(pi_id)
            case "GET", ["v1", "payment_methods", pm_id]:
                if pm_id not in PAYMENT_METHODS:
                    return self._missing("payment_method", pm_id)
                digest = hashlib.sha256(pm_id.encode()).hexdigest()[:16]
                return 200, {
                    "id": pm_id,
                    "object": "payment_method",
                    "type": "card",
                    "card": {"brand": "visa", "fingerprint": digest},
                }
            case "GET", ["v1", "payment_intents", pi_id]:
                pi = self.state.intents.get(pi_id)
                return (200, self._pi_view(pi)) if pi else self._missing("payment_intent", pi_id)
            case "POST", ["v1", "refunds"]:
                return self.refund_create(params)
            case "POST", ["v1", "accounts"]:
                acct = {
                    "id": self._new_id("acct"),
                    "object": "account",
                    "type": params.get("type"),
                    "country": params.get("country", "US"),
                    "email": params.get("email"),
                    "details_submitted": False,
                    "payouts_enabled": False,
                    "metadata": params.get("metadata", {}),
                }
                self.state.accounts[acct["id"]] = acct
                return 200, acct
            case "POST", ["v1", "account_links"]:
                if params.get("account") not in self.state.accounts:
                    return self._missing("account", params.get("account", ""))
                return 200, {
                    "object": "account_link",
                    "created": int(time.time()),
                    "expires_at": int(time.time()) + 300,
                    "url": f"https://connect.stripe.com/setup/e/{params['account']}/stub",
                }
            case "POST", ["v1", "accounts", acct_id, "external_accounts"]:
                return self.bank_create(acct_id, params)
            case "POST", ["v1", "transfers"]:
                if params.get("destination") not in self.state.accounts:
                    return self._missing("account", params.get("destination", ""))
                tr = {
                    "id": self._new_id("tr"),
                    "object": "transfer",
                    "amount": int(params["amount"]),
                    "currency": params["currency"],
                    "destination": params["destination"],
                }
                return 200, tr
            case "POST", ["v1", "payouts"]:
                return self.payout_create(headers.get("Stripe-Account"), params)
            case "GET", ["v1", "payouts", po_id]:
                po = self.state.payouts.get(po_id)
                if po is None or po["_account"] != headers.get("Stripe-Account"):
                    return self._missing("payout", po_id)
                return 200, self._public(po)
            case "GET", ["v1", "balance_transactions"]:
                return self.balance_list(params)
            case "GET", ["v1", "disputes", dp_id]:
                dp = self.state.disputes.get(dp_id)
                return (200, self._public(dp)) if dp else self._missing("dispute", dp_id)
            case "POST", ["v1", "disputes", dp_id]:
                dp = self.state.disputes.get(dp_id)
                if dp is None:
                    return self._missing("dispute", dp_id)
                if dp["status"] != "needs_response":
                    return self._invalid("This dispute is closed.", "dispute_already_closed")
                dp["evidence"] = params.get("evidence", {})
                if params.get("submit") == "true":
                    dp["status"] = "under_review"
                self._emit("charge.dispute.updated", self._public(dp))
                return 200, self._public(dp)
        return 404, {
            "error": {
                "type": "invalid_request_error",
                "message": f"Unrecognized request URL ({method}: {path}).",
            }
        }

    @staticmethod
    def _public(obj: dict) -> dict:
        return {k: v for k, v in obj.items() if not k.startswith("_")}

    def _pi_view(self, pi: dict) -> dict:
        view = self._public(pi)
        charge = pi.get("_charge")
        view["latest_charge"] = charge
        return view

    def pi_create(self, params) -> tuple[int, dict]:
        method = params.get("payment_method")
        known = {
            *CARDS_OK,
            *CARD_DECLINES,
            "pm_card_authenticationRequired",
            "pm_card_createDispute",
        }
        if method not in known:
            return self._missing("PaymentMethod", str(method))
        pi = {
            "id": self._new_id("pi"),
            "object": "payment_intent",
            "amount": int(params["amount"]),
            "currency": params["currency"],
            "created": int(time.time()),
            "metadata": params.get("metadata", {}),
            "payment_method": method,
            "status": "requires_confirmation",
            "last_payment_error": None,
            "next_action": None,
            "_charge": None,
        }
        self.state.intents[pi["id"]] = pi
        return self._attempt(pi, authenticated=False)

    def _attempt(self, pi: dict, *, authenticated: bool) -> tuple[int, dict]:
        method = pi["payment_method"]
        charge_id = self._new_id("ch")
        if method in CARD_DECLINES:
            code, decline_code, message = CARD_DECLINES[method]
            error = {
                "type": "card_error",
                "code": code,
                "decline_code": decline_code,
                "message": message,
                "charge": charge_id,
            }
            pi.update(status="requires_payment_method", last_payment_error=error, _charge=charge_id)
            self._emit("payment_intent.payment_failed", self._public(pi))
            return 402, {"error": {**error, "payment_intent": self._pi_view(pi)}}
        if method == "pm_card_authenticationRequired" and not authenticated:
            pi.update(
                status="requires_action",
                next_action={"type": "use_stripe_sdk", "use_stripe_sdk": {}},
            )
            self._emit("payment_intent.requires_action", self._public(pi))
            return 200, self._pi_view(pi)
        fee = charge_fee(pi["amount"])
        txn = {
            "id": self._new_id("txn"),
            "object": "balance_transaction",
            "amount": pi["amount"],
            "fee": fee,
            "net": pi["amount"] - fee,
            "currency": pi["currency"],
            "created": int(time.time()),
            "available_on": int(time.time()) + 172800,
            "source": charge_id,
            "type": "charge",
            "reporting_category": "charge",
        }
        self.state.balance.insert(0, txn)
        pi.update(
            status="succeeded",
            next_action=None,
            _charge={
                "id": charge_id,
                "object": "charge",
                "amount": pi["amount"],
                "amount_refunded": 0,
                "balance_transaction": txn,
            },
        )
        event_view = {**self._public(pi), "latest_charge": charge_id}
        self._emit("payment_intent.succeeded", event_view)
        return 200, self._pi_view(pi)

    def pi_confirm(self, pi_id: str) -> tuple[int, dict]:
        pi = self.state.intents.get(pi_id)
        if pi is None:
            return self._missing("payment_intent", pi_id)
        if pi["status"] != "requires_action":
            return self._invalid(
                "This PaymentIntent cannot be confirmed.", "payment_intent_unexpected_state"
            )
        return self._attempt(pi, authenticated=True)

    def refund_create(self, params) -> tuple[int, dict]:
        pi = self.state.intents.get(params.get("payment_intent", ""))
        if pi is None:
            return self._missing("payment_intent", params.get("payment_intent", ""))
        if pi["status"] != "succeeded":
            return self._invalid("Nothing to refund.", "charge_not_refundable")
        charge = pi["_charge"]
        remaining = pi["amount"] - charge["amount_refunded"]
        amount = int(params.get("amount", remaining))
        if remaining == 0:
            return self._invalid("Charge has already been refunded.", "charge_already_refunded")
        if amount > remaining:
            return self._invalid(
                "Refund amount is greater than unrefunded amount.", "amount_too_large"
            )
        charge["amount_refunded"] += amount
        refund = {
            "id": self._new_id("re"),
            "object": "refund",
            "amount": amount,
            "charge": charge["id"],
            "currency": pi["currency"],
            "created": int(time.time()),
            "payment_intent": pi["id"],
            "reason": params.get("reason"),
            "status": "succeeded",
        }
        self.state.balance.insert(
            0,
            {
                "id": self._new_id("txn"),
                "object": "balance_transaction",
                "amount": -amount,
                "fee": 0,
                "net": -amount,
                "currency": pi["currency"],
                "created": int(time.time()),
                "available_on": int(time.time()),
                "source": refund["id"],
                "type": "refund",
                "reporting_category": "refund",
            },
        )
        self._emit("refund.created", refund)
        return 200, refund

    def bank_create(self, acct_id: str, params) -> tuple[int, dict]:
        account = self.state.accounts.get(acct_id)
        if account is None:
            return self._missing("account", acct_id)
        external = params.get("external_account")
        if is_card_token(external):
            return self.card_create(acct_id, external)
        if isinstance(external, str):
            if external not in BANK_TOKENS:
                return self._missing("token", external)
            outcome, last4, country, currency = BANK_TOKENS[external], "6789", "US", "usd"
        else:
            outcome, error, message = bank_test_outcome(external)
            if error:
                return self._invalid(message, error)
            last4 = external["account_number"][-4:]
            country, currency = external.get("country", ""), external.get("currency", "")
        bank = {
            "id": self._new_id("ba"),
            "object": "bank_account",
            "account": acct_id,
            "bank_name": "STRIPE TEST BANK",
            "country": country,
            "currency": currency,
            "last4": last4,
            "status": "new",
            "_outcome": outcome,
        }
        self.state.banks[acct_id] = bank
        account.update(details_submitted=True, payouts_enabled=True)
        return 200, self._public(bank)

    def card_create(self, acct_id: str, token: str) -> tuple[int, dict]:
        # Stripe's test cards are US debit cards; their currency is the account's (USD).
        card, error = card_test_outcome(token)
        if error == "invalid_card_type":
            return self._invalid(NOT_DEBIT_MESSAGE, error)
        if card is None:
            return self._missing("token", token)
        brand, last4, outcome = card
        created = {
            "id": self._new_id("card"),
            "object": "card",
            "account": acct_id,
            "brand": brand,
            "funding": "debit",
            "country": "US",
            "currency": "usd",
            "last4": last4,
            "available_payout_methods": ["standard", "instant"],
            "_outcome": outcome,
        }
        self.state.cards[created["id"]] = created
        self.state.accounts[acct_id].update(details_submitted=True, payouts_enabled=True)
        return 200, self._public(created)

    def payout_create(self, account: str | None, params) -> tuple[int, dict]:
        bank = self.state.banks.get(account or "")
        if params.get("destination"):
            bank = self.state.cards.get(params["destination"])
            if bank is None or bank["account"] != account:
                return self._missing("external_account", params["destination"])
        if bank is None or bank["currency"] != params.get("currency"):
            return self._invalid("This account has no external account.", "no_external_account")
        if params.get("method") == "instant" and bank["object"] != "card":
            return self._invalid(
                "Instant payouts go to debit cards only.", "instant_payouts_unsupported"
            )
        po = {
            "id": self._new_id("po"),
            "object": "payout",
            "amount": int(params["amount"]),
            "currency": params["currency"],
            "arrival_date": int(time.time()) + (0 if params.get("method") == "instant" else 172800),
            "created": int(time.time()),
            "destination": bank["id"],
            "failure_code": None,
            "failure_message": None,
            "metadata": params.get("metadata", {}),
            "method": params.get("method", "standard"),
            "status": "pending",
            "type": "card" if bank["object"] == "card" else "bank_account",
            "_account": account,
            "_outcome": bank["_outcome"],
        }
        self.state.payouts[po["id"]] = po
        self._emit("payout.created", self._public(po), account)
        return 200, self._public(po)

    def balance_list(self, params) -> tuple[int, dict]:
        limit = int(params.get("limit", 10))
        rows = self.state.balance
        if "starting_after" in params:
            ids = [r["id"] for r in rows]
            rows = rows[ids.index(params["starting_after"]) + 1 :]
        return 200, {
            "object": "list",
            "data": rows[:limit],
            "has_more": len(rows) > limit,
            "url": "/v1/balance_transactions",
        }

    # --- test controls ----------------------------------------------------------------------

    def settle_payout(self, payout_id: str) -> None:
        """The bank answers: what Stripe's test account numbers do after some time."""
        with self.lock:
            po = self.state.payouts[payout_id]
            outcome = po["_outcome"]
            if outcome == "paid" or outcome.startswith("paid_then_"):
                if po["status"] == "paid" and outcome.startswith("paid_then_"):
                    code = outcome.removeprefix("paid_then_")
                    po.update(
                        status="failed", failure_code=code, failure_message=PAYOUT_FAILURES[code]
                    )
                else:
                    po["status"] = "paid"
            else:
                po.update(
                    status="failed", failure_code=outcome, failure_message=PAYOUT_FAILURES[outcome]
                )
            self._emit(f"payout.{po['status']}", self._public(po), po["_account"])

    def open_dispute(self, pi_id: str) -> str:
        with self.lock:
            pi = self.state.intents[pi_id]
            dp = {
                "id": self._new_id("dp"),
                "object": "dispute",
                "amount": pi["amount"],
                "charge": pi["_charge"]["id"],
                "created": int(time.time()),
                "currency": pi["currency"],
                "payment_intent": pi_id,
                "reason": "fraudulent",
                "status": "needs_response",
            }
            self.state.disputes[dp["id"]] = dp
            self._emit("charge.dispute.created", dp)
            self._emit("charge.dispute.funds_withdrawn", dp)
            return dp["id"]

    def close_dispute(self, dp_id: str) -> None:
        with self.lock:
            dp = self.state.disputes[dp_id]
            won = (dp.get("evidence") or {}).get("uncategorized_text") == "winning_evidence"
            dp["status"] = "won" if won else "lost"
            self._emit("charge.dispute.closed", self._public(dp))
            if won:
                self._emit("charge.dispute.funds_reinstated", self._public(dp))

    def events_for(self, object_id: str) -> list[dict]:
        with self.lock:
            return [e for e in self.state.events if e["data"]["object"]["id"] == object_id]
