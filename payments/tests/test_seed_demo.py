"""``seed_demo`` builds the demo world through the services, twice without change, and the
ledger it leaves behind verifies."""

import io

import pytest
from django.core.management import call_command

from accounts.models import Follow, User
from core.money import Money
from ledger.chart import wallet_key
from ledger.models import Entry
from ledger.selectors import balance_of
from payments.creators.models import Membership, MembershipTier, Product, Tip, Unlock
from payments.payouts.models import PayoutDestination
from payments.wallets.models import MoneyRequest, TopUp, Transfer
from posts.models import Like, Post

# The money services commit on their own (durable transactions).
pytestmark = pytest.mark.django_db(transaction=True)

# Notifications are left out: money receipts become notifications in a Celery task after
# commit, so their number depends on when a worker gets to them, not on the seed.
MODELS = (
    Post,
    Follow,
    Like,
    TopUp,
    Transfer,
    MoneyRequest,
    Tip,
    Unlock,
    Product,
    MembershipTier,
    Membership,
    PayoutDestination,
    Entry,
)


def _counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in MODELS}


def test_seed_demo_is_idempotent_and_the_ledger_verifies():
    call_command("seed_demo", stdout=io.StringIO())
    counts = _counts()
    assert counts["Post"] == 11 and counts["Follow"] == 6 and counts["Like"] == 3
    assert counts["TopUp"] == 3 and counts["Transfer"] == 3 and counts["MoneyRequest"] == 1
    assert counts["Tip"] == 2 and counts["Unlock"] == 1 and counts["Product"] == 1
    assert counts["Membership"] == 1 and counts["PayoutDestination"] == 1
    assert TopUp.objects.filter(status=TopUp.Status.SUCCEEDED).count() == 3
    assert MoneyRequest.objects.get().status == MoneyRequest.Status.OPEN
    carol = User.objects.get(handle_key="carol")
    assert carol.verification_tier == User.VerificationTier.VERIFIED
    assert Post.objects.filter(author=carol, price_amount=300).exclude(locked_text="").exists()
    # alice: 500.00 top-up, +12.00 from bob, -25.00 to carol, -5.00 membership, -5.00 tip
    alice = User.objects.get(handle_key="alice")
    assert balance_of(account=wallet_key(alice.pk, "USD")).available == Money(47_700, "USD")

    call_command("seed_demo", stdout=io.StringIO())
    assert _counts() == counts
    out = io.StringIO()
    call_command("ledger_verify", stdout=out, stderr=out)
    assert "OK: every invariant holds." in out.getvalue()


def test_seed_demo_refuses_the_production_profile(settings):
    settings.PROFILE = "production"
    err = io.StringIO()
    call_command("seed_demo", stdout=io.StringIO(), stderr=err)
    assert "Refusing" in err.getvalue()
    assert not User.objects.exists()


def test_the_demo_bank_account_is_past_its_hold_so_a_first_payout_goes_through(settings):
    from django.test import Client
    from django.utils import timezone

    settings.PAYOUT_DESTINATION_HOLD_HOURS = 72  # what a real install uses
    call_command("seed_demo", stdout=io.StringIO())
    destination = PayoutDestination.objects.get(user__handle="carol", status="active")
    assert destination.payouts_allowed_at <= timezone.now()
    client = Client()
    client.force_login(User.objects.get(handle="carol"))
    html = client.get("/payouts/").content.decode()
    assert 'id="payout-hold"' not in html
    review = client.post("/payouts/", {"amount": "5.00", "currency": "USD", "method": "standard"})
    assert review.status_code == 200 and "payouts/confirm" in review.content.decode()
