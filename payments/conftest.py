"""Fixtures for the processor tests: the Stripe stub server and one driver per adapter."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from payments.processors import signing
from payments.processors.base import Processor
from payments.processors.sandbox import engine
from payments.processors.sandbox import models as sandbox_models
from payments.processors.sandbox.adapter import SandboxProcessor
from payments.processors.stripe_adapter import StripeProcessor
from payments.processors.tests.stripe_stub import StripeStub

STRIPE_TEST_SECRET = "whsec_test_stub_secret"
STRIPE_TEST_KEY = "sk_test_stub_0123456789"


@pytest.fixture
def stripe_stub():
    stub = StripeStub().start()
    yield stub
    stub.stop()


@pytest.fixture
def stripe_processor(stripe_stub) -> StripeProcessor:
    return StripeProcessor(
        api_key=STRIPE_TEST_KEY,
        webhook_secret=STRIPE_TEST_SECRET,
        api_base=stripe_stub.url,
        tolerance=300,
    )


@dataclass
class Driver:
    """What a contract test needs beyond the interface: move the processor's clock and
    collect the webhooks it would send."""

    processor: Processor
    secret: str
    stub: StripeStub | None = None

    def settle_payout(self, payout_id: str) -> None:
        if self.stub is not None:
            self.stub.settle_payout(payout_id)
        else:
            engine.payout_settle(payout_id)

    def open_dispute(self, payment_id: str) -> str:
        """The cardholder disputes the payment; returns the dispute id."""
        if self.stub is not None:
            return self.stub.open_dispute(payment_id)
        engine.dispute_open(payment_id)
        return sandbox_models.Dispute.objects.get(payment_intent_id=payment_id).id

    def close_dispute(self, dispute_id: str) -> None:
        if self.stub is not None:
            self.stub.close_dispute(dispute_id)
        else:
            engine.dispute_close(dispute_id)

    def event_bodies(self, object_id: str) -> list[bytes]:
        if self.stub is not None:
            return [json.dumps(e).encode() for e in self.stub.events_for(object_id)]
        rows = sandbox_models.Event.objects.filter(object_id=object_id).order_by("seq")
        return [row.body.encode() for row in rows]

    def sign(self, body: bytes, timestamp: int | None = None) -> dict[str, Any]:
        return {"Stripe-Signature": signing.signature_header(body, self.secret, timestamp)}


@pytest.fixture(params=["sandbox", "stripe"])
def driver(request, settings) -> Driver:
    if request.param == "sandbox":
        return Driver(processor=SandboxProcessor(), secret=settings.SANDBOX_WEBHOOK_SECRET)
    stub = request.getfixturevalue("stripe_stub")
    return Driver(
        processor=request.getfixturevalue("stripe_processor"), secret=STRIPE_TEST_SECRET, stub=stub
    )
