"""More demo data, so that pages look like a lived-in account: ``seed_demo`` plus ``--fans``
people who each follow, post, reply, like, repost, tip, unlock, buy, join, pay and ask for
money, all through the real services.

    python manage.py seed_demo_volume --fans 200

Every fan adds a fixed mix of rows around the demo people (for fan *i*):

- ``fan_<i>`` signs up, tops up 200.00 USD by sandbox card, follows alice, bob and carol,
  and alice follows back (alice's home timeline and carol's followers grow);
- a post of their own with ``#bread``, a reply in alice's first thread, likes on the
  first posts of alice and carol, and every third fan reposts one of carol's posts;
- carol posts once per fan, in turn a paid post, a members-only post, a post selling a
  physical product, and a plain one; the fan unlocks the latest paid post;
- the fan tips carol's first post in public, joins her membership tier, buys from her shop
  (every other order is shipped and confirmed, so sales are released), pays alice
  5.00 USD and asks her for 2.00 USD; alice asks the fan for 1.00 USD;
- alice also tops up 50.00 EUR once;
- when carol's bank account is past its hold (``PAYOUT_DESTINATION_HOLD_HOURS``), carol
  requests a 1.00 USD payout.

It grows the world to ``--fans`` fans: fans that already exist are skipped, so running it
again with the same number changes nothing and a larger number adds only the new fans.
Receipts and payout submissions are queued for a Celery worker after commit, as in the app.
Refuses to run under the production profile.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils import timezone

from accounts.services import follow_create
from core.money import Money
from payments.creators import services as creators
from payments.creators.models import MembershipTier, Product
from payments.payouts.models import PayoutDestination
from payments.payouts.services import payout_request
from payments.wallets import topups
from payments.wallets.requests import request_create
from payments.wallets.transfers import transfer_create
from posts.models import Post
from posts.services import like_create, post_create, repost_create

from .seed_demo import DEMO_PASSWORD, SHOP_POST_TEXT

FAN_FUNDS = 20_000  # 200.00 USD
FANS_MAX = 5_000
USD = "USD"


def fan_handle(i: int) -> str:
    return f"fan_{i:04d}"


class Command(BaseCommand):
    help = "Grow the demo data with --fans active followers of the demo people (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--fans", type=int, default=50, help=f"1..{FANS_MAX}")

    def handle(self, *args, fans: int, **options):
        from django.conf import settings

        if settings.PROFILE == "production":
            self.stderr.write("Refusing to load demo data with the production profile.")
            return
        fans = max(1, min(fans, FANS_MAX))
        call_command("seed_demo", stdout=self.stdout, stderr=self.stderr)
        User = get_user_model()
        demo = {u.handle: u for u in User.objects.filter(handle__in=["alice", "bob", "carol"])}
        world = _World(demo["alice"], demo["bob"], demo["carol"])
        # alice holds euros too, so the pages that total balances convert something.
        eur = topups.topup_create(
            user=demo["alice"],
            money=Money(5_000, "EUR"),
            payment_method="pm_card_visa",
            client_key="demo:fans:alice:eur",
        )
        topups.topup_settle(topup_id=eur.pk, payment_id=eur.payment_id)
        existing = set(
            User.objects.filter(handle__startswith="fan_").values_list("handle", flat=True)
        )
        added = 0
        for i in range(fans):
            if fan_handle(i) not in existing:
                world.add_fan(i)
                added += 1
        self.stdout.write(self.style.SUCCESS(f"{added} fans added ({fans} in all)"))


class _World:
    def __init__(self, alice, bob, carol):
        self.alice, self.bob, self.carol = alice, bob, carol
        self.alice_first = (
            Post.objects.filter(author=alice, reply_to__isnull=True).order_by("id").first()
        )
        self.carol_first = (
            Post.objects.filter(author=carol, reply_to__isnull=True).order_by("id").first()
        )
        self.tier = MembershipTier.objects.filter(creator=carol, is_active=True).first()
        self.shop = (
            Product.objects.filter(seller=carol, kind=Product.Kind.PHYSICAL, is_active=True).first()
            or self._shop()
        )

    def _shop(self) -> Product:
        post = post_create(author=self.carol, text=f"{SHOP_POST_TEXT} Framed, shipped to you.")
        return creators.product_create(
            seller=self.carol,
            post_id=post.pk,
            title="Framed risograph cat print",
            description="A3, framed, shipped in a week.",
            price=Money(2_000, USD),
            stock=FANS_MAX,
            kind=Product.Kind.PHYSICAL,
        )

    def add_fan(self, i: int) -> None:
        alice, bob, carol = self.alice, self.bob, self.carol
        key = f"demo:fan:{i}"
        fan = get_user_model().objects.create_user(
            handle=fan_handle(i),
            email=f"{fan_handle(i)}@example.com",
            password=DEMO_PASSWORD,
            display_name=f"Fan {i}",
            bio="Bread, zines and cat prints.",
        )
        topup = topups.topup_create(
            user=fan, money=Money(FAN_FUNDS, USD), payment_method="pm_card_visa", client_key=key
        )
        topups.topup_settle(topup_id=topup.pk, payment_id=topup.payment_id)
        for person in (alice, bob, carol):
            follow_create(follower=fan, followee=person)
        follow_create(follower=alice, followee=fan)

        post_create(author=fan, text=f"Fan {i} baked along this weekend. #bread")
        post_create(author=fan, text=f"Lovely loaf, @alice! ({i})", reply_to_id=self.alice_first.pk)
        like_create(user=fan, post_id=self.alice_first.pk)
        like_create(user=fan, post_id=self.carol_first.pk)

        carol_post = self._carol_post(i)
        if i % 3 == 0:
            repost_create(user=fan, post_id=carol_post.pk)
        if carol_post.price_amount:
            creators.unlock_purchase(buyer=fan, post_id=carol_post.pk)
        creators.tip_send(
            tipper=fan,
            amount=Money(100, USD),
            request_key=f"{key}:tip",
            post_id=self.carol_first.pk,
            message=f"Keep printing! ({i})",
            visibility="public",
            show_amount=i % 2 == 0,
        )
        if self.tier is not None:
            creators.membership_subscribe(member=fan, tier_id=self.tier.pk)
        order = creators.order_create(
            buyer=fan,
            product_id=self.shop.pk,
            quantity=1,
            request_key=f"{key}:order",
            shipping_address=f"{i} Bakery Lane, Springfield",
        )
        if i % 2 == 0:
            creators.order_ship(seller=carol, order_id=order.pk)
            creators.order_confirm(buyer=fan, order_id=order.pk)
        transfer_create(
            sender=fan, to=alice, money=Money(500, USD), client_key=f"{key}:pay", note="For bread"
        )
        request_create(
            requester=fan, payer=alice, money=Money(200, USD), client_key=f"{key}:ask",
            note="Bus fare",
        )  # fmt: skip
        request_create(
            requester=alice, payer=fan, money=Money(100, USD), client_key=f"{key}:ask-back",
            note="Starter culture",
        )  # fmt: skip
        destination = PayoutDestination.objects.filter(
            user=carol, status=PayoutDestination.Status.ACTIVE
        ).first()
        if destination is not None and destination.payouts_allowed_at <= timezone.now():
            payout_request(
                user=carol, amount=Money(100, USD), method="standard", request_key=f"{key}:payout"
            )

    def _carol_post(self, i: int) -> Post:
        carol = self.carol
        post = post_create(author=carol, text=f"Print diary, day {i}. #riso")
        kind = i % 4
        if kind == 0:
            post = creators.post_set_paid_content(
                author=carol,
                post=post,
                locked_text=f"Day {i}: the full ink recipe and the misprints.",
                price=Money(300, USD),
            )
        elif kind == 1 and self.tier is not None:
            post = creators.post_set_paid_content(
                author=carol,
                post=post,
                locked_text=f"Day {i}: members get the print file.",
                members_tier_id=self.tier.pk,
            )
        elif kind == 2:
            creators.product_create(
                seller=carol,
                post_id=post.pk,
                title=f"Test print #{i}",
                description="One of a kind.",
                price=Money(800, USD),
                stock=1,
                kind=Product.Kind.DIGITAL,
                delivery_url="https://example.com/downloads/test-print.pdf",
            )
        return post
