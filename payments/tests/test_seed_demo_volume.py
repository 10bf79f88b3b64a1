"""``seed_demo_volume`` grows the demo world by whole fans, through the services: the same
number twice changes nothing, a larger number adds only the new fans' rows, and the ledger
it leaves behind verifies."""

import io

import pytest
from django.core.management import call_command

from accounts.models import Follow, User
from payments.creators.models import Membership, Order, Product, Tip, Unlock
from payments.payouts.models import Payout
from payments.wallets.models import MoneyRequest, TopUp, Transfer
from posts.models import Like, Post

# The money services commit on their own (durable transactions).
pytestmark = pytest.mark.django_db(transaction=True)

MODELS = (
    User, Follow, Post, Like, Product, TopUp, Transfer, MoneyRequest, Tip, Unlock, Order,
    Membership, Payout,
)  # fmt: skip
# Notifications are left out: money receipts become notifications in a Celery task after
# commit, so their number depends on when a worker gets to them.


def _counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in MODELS}


def test_fans_are_added_once_each_and_the_ledger_verifies(settings):
    settings.PAYOUT_DESTINATION_HOLD_HOURS = 0
    call_command("seed_demo_volume", fans=2, stdout=io.StringIO())
    two = _counts()
    assert User.objects.filter(handle__startswith="fan_").count() == 2
    alice = User.objects.get(handle_key="alice")
    assert MoneyRequest.objects.filter(payer=alice, status="open").count() == 2
    assert Payout.objects.filter(user__handle="carol").count() == 2

    call_command("seed_demo_volume", fans=2, stdout=io.StringIO())
    assert _counts() == two

    call_command("seed_demo_volume", fans=3, stdout=io.StringIO())
    three = _counts()
    added = {name: three[name] - two[name] for name in three}
    # fan_0002: one person, four follows, its own post, a reply and carol's post of the
    # day; two likes; a tip, a membership, an order, a transfer to alice, two requests.
    assert added["User"] == 1 and added["Follow"] == 4 and added["Post"] == 3
    assert added["Like"] == 2 and added["Tip"] == 1 and added["Membership"] == 1
    assert added["Order"] == 1 and added["Transfer"] == 1 and added["MoneyRequest"] == 2
    assert added["Payout"] == 1 and added["TopUp"] == 1

    out = io.StringIO()
    call_command("ledger_verify", stdout=out, stderr=out)
    assert "OK: every invariant holds." in out.getvalue()


def test_volume_refuses_the_production_profile(settings):
    settings.PROFILE = "production"
    err = io.StringIO()
    call_command("seed_demo_volume", fans=1, stdout=io.StringIO(), stderr=err)
    assert "Refusing" in err.getvalue()
    assert not User.objects.exists()
