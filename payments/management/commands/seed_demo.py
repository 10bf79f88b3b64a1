"""Demo data for a fresh install: a few people who follow each other, have posted, replied
and liked each other's posts, and money that has moved between them.

Money goes through the real services only (never ledger rows written by hand): sandbox card
top-ups settled by the service the processor's webhook calls, transfers, an open money
request, tips, carol's paid post, product, membership tier and a member, and carol verified
(through the staff review service) with a sandbox bank account for payouts.

Idempotent: people are found by handle, posts are only added when missing, and every money
call carries a stable ``demo:…`` idempotency key, so running it again (every ``make run``
does) changes nothing. It refuses to run under the production profile.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.utils import timezone

from accounts.services import follow_create
from core.money import Money
from payments.creators import services as creators
from payments.creators.models import Membership, MembershipTier, Product
from payments.payouts.models import PayoutDestination
from payments.payouts.services import payout_destination_add
from payments.wallets import topups
from payments.wallets.models import VerificationRequest
from payments.wallets.requests import request_create
from payments.wallets.transfers import transfer_create
from payments.wallets.verification import verification_approve, verification_request_create
from posts.models import Post
from posts.services import like_create, post_create

DEMO_PASSWORD = "socialpay-demo"

DEMO_PEOPLE = [
    (
        "alice",
        "alice@example.com",
        "Alice Baker",
        "Baker. Sourdough on Saturdays.",
        [
            "Fresh sourdough out of the oven. Pay-what-you-want loaves this Saturday! #bread",
            "Thanks to everyone who tipped last week — the new starter is named Gerald.",
        ],
    ),
    (
        "bob",
        "bob@example.com",
        "Bob Ortiz",
        "Bikes, zines, pizza.",
        [
            "Pizza night was great. @alice I owe you for the flour.",
            "Working on a new zine about bikes. Early access for members soon. #zine",
        ],
    ),
    (
        "carol",
        "carol@example.com",
        "Carol Nguyen",
        "Risograph prints and cats.",
        [
            "New print series drops Friday: risograph cats, limited run of 30.",
            "Behind the scenes of the print shop, thread below.",
        ],
    ),
]

# (author, replying to the first post of, text)
DEMO_REPLIES = [
    ("bob", "alice", "Saving me a loaf? Happy to pay by @handle."),
    ("carol", "bob", "Count me in for the zine!"),
    ("alice", "carol", "The cat prints are gorgeous."),
]


# Posts carol adds for her paid content and her shop (found again by their text).
PAID_POST_TEXT = "Studio notes: how I mix risograph inks. Supporters get the full recipe."
PAID_POST_LOCKED = (
    "The recipe: two parts fluorescent pink, one part yellow, a drop of medium. Print the "
    "pink layer first, let it dry overnight, then the blue. Misregistration is a feature."
)
SHOP_POST_TEXT = "The cat print is in the shop: A4 risograph, signed, numbered."

# (handle, minor units of USD) — sandbox card top-ups
DEMO_TOPUPS = [("alice", 50_000), ("bob", 30_000), ("carol", 20_000)]
# (key, sender, recipient, minor units, note)
DEMO_TRANSFERS = [
    ("1", "bob", "alice", 1_200, "Flour for pizza night"),
    ("2", "alice", "carol", 2_500, "Two cat prints"),
    ("3", "carol", "bob", 800, "Zine, early access"),
]


class Command(BaseCommand):
    help = "Create demo users, follows, posts, replies and likes (idempotent)."

    # No transaction around it all: the money services commit on their own (durable), and
    # every step is idempotent, so an interrupted run is finished by the next one.
    def handle(self, *args, **options):
        if self._production():
            self.stderr.write("Refusing to load demo data with the production profile.")
            return
        User = get_user_model()
        people = {}
        for handle, email, name, bio, texts in DEMO_PEOPLE:
            user = User.objects.filter(handle_key=handle).first()
            if user is None:
                user = User.objects.create_user(
                    handle=handle, email=email, password=DEMO_PASSWORD, display_name=name, bio=bio
                )
                self.stdout.write(f"created @{handle}")
            people[handle] = user
            if not Post.objects.filter(author=user).exists():
                for text in texts:
                    post_create(author=user, text=text)
        for a in people.values():
            for b in people.values():
                if a.pk != b.pk:
                    follow_create(follower=a, followee=b)
        for author, parent_author, text in DEMO_REPLIES:
            parent = (
                Post.objects.filter(author=people[parent_author], reply_to__isnull=True)
                .order_by("id")
                .first()
            )
            if not Post.objects.filter(author=people[author], reply_to=parent).exists():
                post_create(author=people[author], text=text, reply_to_id=parent.pk)
            like_create(user=people[author], post_id=parent.pk)
        admin = User.objects.filter(handle_key="admin").first()
        if admin is None:
            # "admin" is a reserved handle for sign-ups; the demo staff account may use it.
            admin = User.objects.create_superuser(
                handle="admin", email="admin@example.com", password=DEMO_PASSWORD
            )
            self.stdout.write("created staff user @admin")
        self._money(people, admin)
        self.stdout.write(self.style.SUCCESS("demo data ready"))

    def _money(self, people: dict, admin) -> None:
        alice, bob, carol = people["alice"], people["bob"], people["carol"]
        for handle, amount in DEMO_TOPUPS:
            topup = topups.topup_create(
                user=people[handle],
                money=Money(amount, "USD"),
                payment_method="pm_card_visa",
                client_key=f"demo:topup:{handle}",
            )
            # What the processor's payment_intent.succeeded webhook does, without waiting
            # for a worker: a webhook arriving later finds it settled and changes nothing.
            topups.topup_settle(topup_id=topup.pk, payment_id=topup.payment_id)
        for key, sender, recipient, amount, note in DEMO_TRANSFERS:
            transfer_create(
                sender=people[sender],
                to=people[recipient],
                money=Money(amount, "USD"),
                client_key=f"demo:transfer:{key}",
                note=note,
            )
        request_create(
            requester=alice,
            payer=bob,
            money=Money(1_800, "USD"),
            client_key="demo:request:1",
            note="Your half of the farmers' market",
        )

        # carol the creator: a paid post, a product, a membership tier and its first member.
        paid = Post.objects.filter(author=carol, text=PAID_POST_TEXT).first()
        if paid is None:
            paid = post_create(author=carol, text=PAID_POST_TEXT)
        if not paid.locked_text:
            creators.post_set_paid_content(
                author=carol, post=paid, locked_text=PAID_POST_LOCKED, price=Money(300, "USD")
            )
        shop = Post.objects.filter(author=carol, text=SHOP_POST_TEXT).first()
        if shop is None:
            shop = post_create(author=carol, text=SHOP_POST_TEXT)
        if not Product.objects.filter(post=shop).exists():
            creators.product_create(
                seller=carol,
                post_id=shop.pk,
                title="Risograph cat print (A4)",
                description="Signed and numbered, limited run of 30.",
                price=Money(1_500, "USD"),
                stock=30,
                kind=Product.Kind.DIGITAL,
                delivery_url="https://example.com/downloads/riso-cat.pdf",
            )
        tier = MembershipTier.objects.filter(creator=carol, name="Print club").first()
        if tier is None:
            tier = creators.tier_create(
                creator=carol,
                name="Print club",
                price=Money(500, "USD"),
                perks="A postcard every month and early access to new series.",
            )
        if not Membership.objects.filter(member=alice, tier=tier).exists():
            creators.membership_subscribe(member=alice, tier_id=tier.pk)
        first_post = Post.objects.filter(author=carol, reply_to__isnull=True).order_by("id")
        creators.tip_send(
            tipper=alice,
            amount=Money(500, "USD"),
            request_key="demo:tip:1",
            post_id=first_post.first().pk,
            message="Those cats!",
            visibility="public",
        )
        creators.tip_send(
            tipper=bob, amount=Money(300, "USD"), request_key="demo:tip:2", creator=carol
        )
        creators.unlock_purchase(buyer=bob, post_id=paid.pk)

        # carol is verified (as staff approve it in Django admin) and has a bank account.
        if carol.verification_tier != type(carol).VerificationTier.VERIFIED:
            req = verification_request_create(user=carol, legal_name="Carol Nguyen", country="US")
            if req.status == VerificationRequest.Status.PENDING:
                verification_approve(request_id=req.pk, actor=admin, note="demo data")
        if not PayoutDestination.objects.filter(
            user=carol, status=PayoutDestination.Status.ACTIVE
        ).exists():
            destination = payout_destination_add(
                user=carol, token="btok_us_verified", account_holder_name="Carol Nguyen"
            )
            # A new bank account waits PAYOUT_DESTINATION_HOLD_HOURS before its first payout
            # (a fraud brake). In the demo, carol added hers long ago: her first payout goes
            # through to "paid" instead of stopping at the hold.
            PayoutDestination.objects.filter(pk=destination.pk).update(
                payouts_allowed_at=timezone.now()
            )

    @staticmethod
    def _production() -> bool:
        from django.conf import settings

        return settings.PROFILE == "production"
