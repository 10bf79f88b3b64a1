"""Creator earnings: tips, unlocks of paid posts, orders from posts (escrow), memberships.

Every money row is written, booked and marked done in one transaction (the shape of every
money flow, ``payments.creators.services``): the row, the ledger entry with an idempotency
key derived from the row id (``creators:tip:{id}`` …), its final state and entry commit
together or not at all. Only a card tip is ``pending`` for a while: recorded before the
processor is called, completed by the processor's confirmation.

Invariants (database-enforced):
- amounts are positive; ``fee + net = amount`` (fee ≥ 0, net ≥ 0);
- a person holds at most one non-failed unlock per post (a repeat returns it; a second
  charge is impossible because a second row is);
- a request key is used once per payer (``(payer, request_key)`` unique), so a retried
  request finds its first row instead of paying again;
- an order's refunded amount never exceeds its amount; one ledger entry per step;
- a membership charge is unique per (membership, period start): a renewal is never
  charged twice for the same period.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from core.money import Money
from posts.models import IMAGE_ALT_MAX_LENGTH, POST_IMAGE_MAX_SIDE

MESSAGE_MAX_LENGTH = 280
ADDRESS_MAX_LENGTH = 500
SHIPPING_NAME_MAX_LENGTH = 200
TIER_NAME_MAX_LENGTH = 60
TIER_PERKS_MAX_LENGTH = 1000
PRODUCT_TITLE_MAX_LENGTH = 120
PRODUCT_DESCRIPTION_MAX_LENGTH = 2000
PRODUCT_STOCK_MAX = 1_000_000


def _money_checks(prefix: str) -> list[models.BaseConstraint]:
    return [
        models.CheckConstraint(condition=Q(amount__gt=0), name=f"{prefix}_amount_positive"),
        models.CheckConstraint(
            condition=Q(fee__gte=0) & Q(fee__lte=F("amount")), name=f"{prefix}_fee_in_range"
        ),
        models.CheckConstraint(
            condition=Q(currency__regex=r"^[A-Z]{3}$"), name=f"{prefix}_currency_code"
        ),
    ]


class PayStatus(models.TextChoices):
    PENDING = "pending", "pending"
    COMPLETED = "completed", "completed"
    FAILED = "failed", "failed"


class Visibility(models.TextChoices):
    PUBLIC = "public", "public"
    PRIVATE = "private", "private"


# Tables keep the names they had when these models lived in one ``payments`` app: the
# move to this app was state-only (no table renamed, no row copied).
class Tip(models.Model):
    """A tip to a creator, on a post or on the profile (``post`` null: the tip jar)."""

    class Source(models.TextChoices):
        WALLET = "wallet", "wallet"
        CARD = "card", "card"

    tipper = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    post = models.ForeignKey(
        "posts.Post", on_delete=models.PROTECT, null=True, blank=True, related_name="tips"
    )
    amount = models.BigIntegerField()
    fee = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    message = models.CharField(max_length=MESSAGE_MAX_LENGTH, blank=True)
    # public: the tip (tipper, message) shows on the post; private: only the creator sees it.
    visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.PRIVATE
    )
    show_amount = models.BooleanField(default=False)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.WALLET)
    status = models.CharField(max_length=10, choices=PayStatus.choices, default=PayStatus.PENDING)
    failure_code = models.CharField(max_length=60, blank=True)
    request_key = models.CharField(max_length=255)
    entry = models.ForeignKey(
        "ledger.Entry", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Card tips: the processor payment id, once created.
    processor_payment_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "payments_tip"
        constraints = [
            *_money_checks("tip"),
            models.UniqueConstraint(fields=["tipper", "request_key"], name="tip_request_once"),
            models.CheckConstraint(condition=~Q(tipper=F("creator")), name="tip_not_self"),
            models.CheckConstraint(
                condition=~Q(status="completed") | Q(entry__isnull=False),
                name="tip_completed_has_entry",
            ),
        ]
        indexes = [
            models.Index(fields=["post", "-id"], name="tip_post_newest"),
            models.Index(fields=["creator", "-id"], name="tip_creator_newest"),
            models.Index(fields=["status", "created_at"], name="tip_status_age"),
        ]

    def __str__(self) -> str:
        return f"tip {self.pk}"

    @property
    def net(self) -> int:
        return self.amount - self.fee


class Unlock(models.Model):
    """One person's paid access to a post's locked content."""

    post = models.ForeignKey("posts.Post", on_delete=models.PROTECT, related_name="unlocks")
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    amount = models.BigIntegerField()
    fee = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=PayStatus.choices, default=PayStatus.PENDING)
    failure_code = models.CharField(max_length=60, blank=True)
    entry = models.ForeignKey(
        "ledger.Entry", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "payments_unlock"
        constraints = [
            *_money_checks("unlock"),
            models.UniqueConstraint(
                fields=["post", "buyer"], condition=~Q(status="failed"), name="unlock_once"
            ),
            models.CheckConstraint(condition=~Q(buyer=F("creator")), name="unlock_not_self"),
            models.CheckConstraint(
                condition=~Q(status="completed") | Q(entry__isnull=False),
                name="unlock_completed_has_entry",
            ),
        ]
        indexes = [
            # "may this viewer read this post's locked text" runs per post on timelines.
            models.Index(
                fields=["post", "buyer"], name="unlock_reader", condition=Q(status="completed")
            ),
            models.Index(fields=["creator", "-id"], name="unlock_creator_newest"),
            models.Index(fields=["status", "created_at"], name="unlock_status_age"),
        ]

    def __str__(self) -> str:
        return f"unlock {self.pk}"


class Product(models.Model):
    """A product sold from a post. Digital products deliver ``delivery_url`` (or the
    ``delivery_file``) to buyers after payment; physical ones need a shipping address."""

    class Kind(models.TextChoices):
        DIGITAL = "digital", "digital"
        PHYSICAL = "physical", "physical"

    post = models.ForeignKey("posts.Post", on_delete=models.PROTECT, related_name="products")
    seller = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=PRODUCT_TITLE_MAX_LENGTH)
    description = models.TextField(max_length=PRODUCT_DESCRIPTION_MAX_LENGTH, blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    price_amount = models.BigIntegerField()
    price_currency = models.CharField(max_length=3)
    stock = models.IntegerField()
    delivery_url = models.URLField(max_length=500, blank=True)
    delivery_file = models.FileField(upload_to="products/", blank=True)
    # A photo of the product: always a file the server wrote (``posts.images`` re-encodes
    # the upload, as for a post's photos), with its size and the alt text the seller typed.
    photo = models.FileField(upload_to="products/photos/%Y/%m/", max_length=200, blank=True)
    photo_width = models.PositiveIntegerField(null=True, blank=True)
    photo_height = models.PositiveIntegerField(null=True, blank=True)
    photo_alt = models.TextField(max_length=IMAGE_ALT_MAX_LENGTH, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "posts_product"
        indexes = [models.Index(fields=["post", "id"], name="product_post")]
        constraints = [
            models.CheckConstraint(condition=Q(stock__gte=0), name="product_stock_not_negative"),
            models.CheckConstraint(condition=Q(price_amount__gt=0), name="product_price_positive"),
            models.CheckConstraint(
                condition=Q(kind__in=["digital", "physical"]), name="product_kind_known"
            ),
            # A photo has its size and a description, or there is no photo at all.
            models.CheckConstraint(
                condition=Q(photo="", photo_width__isnull=True, photo_height__isnull=True)
                | (
                    ~Q(photo="")
                    & Q(photo_width__gte=1, photo_width__lte=POST_IMAGE_MAX_SIDE)
                    & Q(photo_height__gte=1, photo_height__lte=POST_IMAGE_MAX_SIDE)
                    & ~Q(photo_alt="")
                ),
                name="product_photo_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"product {self.pk}: {self.title}"


class Order(models.Model):
    """A purchase from a post. Money: buyer → escrow on payment; escrow → seller (net) and
    fees on release; escrow → buyer on refund (full or partial, before release)."""

    class Status(models.TextChoices):
        PENDING = "pending", "pending payment"
        PAID = "paid", "paid (in escrow)"
        SHIPPED = "shipped", "shipped (in escrow)"
        RELEASING = "releasing", "releasing"
        RELEASED = "released", "completed"
        REFUNDED = "refunded", "refunded"
        FAILED = "failed", "payment failed"

    #: States in which the buyer's money sits in escrow and the seller may still refund.
    IN_ESCROW = (Status.PAID, Status.SHIPPED)

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="orders")
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    seller = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    unit_price = models.BigIntegerField()
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    refunded_amount = models.BigIntegerField(default=0)
    # The fee actually kept, set when the escrow is released (on the amount not refunded).
    fee = models.BigIntegerField(default=0)
    shipping_address = models.TextField(max_length=ADDRESS_MAX_LENGTH, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    failure_code = models.CharField(max_length=60, blank=True)
    request_key = models.CharField(max_length=255)
    payment_entry = models.ForeignKey(
        "ledger.Entry", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    release_entry = models.ForeignKey(
        "ledger.Entry", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    release_after = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    paid_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "payments_order"
        constraints = [
            *_money_checks("order"),
            models.UniqueConstraint(fields=["buyer", "request_key"], name="order_request_once"),
            models.CheckConstraint(condition=~Q(buyer=F("seller")), name="order_not_self"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="order_quantity_positive"),
            models.CheckConstraint(
                condition=Q(amount=F("unit_price") * F("quantity")), name="order_amount_product"
            ),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0) & Q(refunded_amount__lte=F("amount")),
                name="order_refund_in_range",
            ),
        ]
        indexes = [
            models.Index(fields=["buyer", "-id"], name="order_buyer_newest"),
            models.Index(fields=["seller", "-id"], name="order_seller_newest"),
            models.Index(
                fields=["release_after"],
                name="order_release_due",
                condition=Q(status__in=["paid", "shipped"], release_after__isnull=False),
            ),
            models.Index(fields=["status", "created_at"], name="order_status_age"),
        ]

    def __str__(self) -> str:
        return f"order {self.pk}"

    @property
    def in_escrow(self) -> int:
        """Minor units still held for this order (0 unless paid or shipped)."""
        if self.status in self.IN_ESCROW or self.status == self.Status.RELEASING:
            return self.amount - self.refunded_amount
        return 0


class OrderRefund(models.Model):
    """One refund of (part of) an order, booked D escrow · C wallet:buyer."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=MESSAGE_MAX_LENGTH, blank=True)
    status = models.CharField(max_length=10, choices=PayStatus.choices, default=PayStatus.PENDING)
    entry = models.ForeignKey(
        "ledger.Entry", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "payments_orderrefund"
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="order_refund_positive"),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="order_refund_status_age")]

    def __str__(self) -> str:
        return f"refund {self.pk} of order {self.order_id}"


class MembershipTier(models.Model):
    """A creator's monthly membership level. A pricier tier of the same creator includes
    the cheaper ones (members-only posts for a tier are open to higher tiers)."""

    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="membership_tiers"
    )
    name = models.CharField(max_length=TIER_NAME_MAX_LENGTH)
    price_amount = models.BigIntegerField()
    price_currency = models.CharField(max_length=3)
    perks = models.TextField(max_length=TIER_PERKS_MAX_LENGTH, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "payments_membershiptier"
        constraints = [
            models.CheckConstraint(condition=Q(price_amount__gt=0), name="tier_price_positive"),
            models.UniqueConstraint(
                fields=["creator", "name"], condition=Q(is_active=True), name="tier_name_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.creator_id})"


class Membership(models.Model):
    """A fan's subscription to a tier.

    ``active``: paid up to ``current_period_end``. ``past_due``: the renewal could not be
    paid; access continues until ``grace_until``, renewals are retried, then ``expired``.
    ``cancel_at_period_end``: no renewal; access until ``current_period_end``, then
    ``canceled``.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        ACTIVE = "active", "active"
        PAST_DUE = "past_due", "past due"
        CANCELED = "canceled", "canceled"
        EXPIRED = "expired", "expired"
        FAILED = "failed", "payment failed"

    tier = models.ForeignKey(MembershipTier, on_delete=models.PROTECT, related_name="memberships")
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    current_period_start = models.DateTimeField(default=timezone.now)
    current_period_end = models.DateTimeField(default=timezone.now)
    grace_until = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "payments_membership"
        constraints = [
            models.UniqueConstraint(
                fields=["member", "creator"],
                condition=Q(status__in=["pending", "active", "past_due"]),
                name="membership_one_live_per_creator",
            ),
            models.CheckConstraint(condition=~Q(member=F("creator")), name="membership_not_self"),
        ]
        indexes = [
            models.Index(fields=["member", "creator"], name="membership_member_creator"),
            models.Index(
                fields=["current_period_end"],
                name="membership_renewal_due",
                condition=Q(status__in=["active", "past_due"]),
            ),
        ]

    def __str__(self) -> str:
        return f"membership {self.pk}"


class MembershipCharge(models.Model):
    """One period's payment of a membership (the first one or a renewal)."""

    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="charges")
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    amount = models.BigIntegerField()
    fee = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=PayStatus.choices, default=PayStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    entry = models.ForeignKey(
        "ledger.Entry", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "payments_membershipcharge"
        constraints = [
            *_money_checks("membership_charge"),
            models.UniqueConstraint(
                fields=["membership", "period_start"], name="membership_charge_once_per_period"
            ),
        ]

    def __str__(self) -> str:
        return f"charge {self.pk} of membership {self.membership_id}"


class GuestPayment(models.Model):
    """A payment by card from a visitor without an account: a tip, the unlock of one post,
    a product, or a payment link (``payments.creators.services.guests``).

    Recorded (``created``) before the processor is called; ``completed`` only by the
    processor's ``payment_intent.succeeded`` webhook, in the one transaction that books the
    entry (D processor_clearing gross · C wallet:creator net · C fees fee). The guest is
    known by an e-mail address only; ``claimed_by`` is set when someone verifies that
    address on an account, so their purchases follow them.

    Invariants (database-enforced): the amount and fee checks of every creator payment; a
    ``client_key`` is used once (a retried form finds its row); a processor payment
    credits one guest payment at most; a completed payment points at its entry; an unlock
    names a post, a product purchase a product, a link payment a link.
    """

    class Kind(models.TextChoices):
        TIP = "tip", "tip"
        UNLOCK = "unlock", "unlock"
        PRODUCT = "product", "product"
        LINK = "link", "link"

    class Status(models.TextChoices):
        CREATED = "created", "created"
        REQUIRES_ACTION = "requires_action", "requires action"
        PENDING = "pending", "pending"
        COMPLETED = "completed", "completed"
        FAILED = "failed", "failed"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    post = models.ForeignKey(
        "posts.Post", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The payment link's id: links sit above this app (it never imports them), so the
    # reference is a plain number that ``payments.links`` resolves.
    link_id = models.BigIntegerField(null=True, blank=True)
    email = models.EmailField(max_length=254)
    amount = models.BigIntegerField()
    fee = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    message = models.CharField(max_length=MESSAGE_MAX_LENGTH, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CREATED)
    failure_code = models.CharField(max_length=64, blank=True)
    client_key = models.CharField(max_length=64, unique=True)
    processor = models.CharField(max_length=20)
    payment_method = models.CharField(max_length=100)
    payment_id = models.CharField(max_length=255, blank=True)
    card_fingerprint = models.CharField(max_length=64)
    ip = models.GenericIPAddressField()
    # A physical product's recipient, for the seller to ship to (never in a webhook event).
    shipping_name = models.CharField(max_length=SHIPPING_NAME_MAX_LENGTH, blank=True)
    shipping_address = models.TextField(max_length=ADDRESS_MAX_LENGTH, blank=True)
    # Where the guest paid (scheme and host): the e-mailed access link points back there.
    site_url = models.CharField(max_length=200, blank=True)
    # A product's item is taken from stock when the checkout starts (so two guests cannot
    # pay for the last one) and this is set; it is cleared when the item is sold (the
    # payment settles) or put back (the payment fails). Never set on other kinds.
    stock_reserved = models.BooleanField(default=False)
    entry = models.ForeignKey(
        "ledger.Entry", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="guest_payments",
    )
    receipt_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            *_money_checks("guestpay"),
            models.UniqueConstraint(
                fields=["processor", "payment_id"],
                condition=~Q(payment_id=""),
                name="guestpay_payment_once",
            ),
            models.CheckConstraint(
                condition=~Q(status="completed") | Q(entry__isnull=False),
                name="guestpay_completed_has_entry",
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind="tip", product__isnull=True, link_id__isnull=True)
                    | Q(kind="unlock", post__isnull=False, product__isnull=True)
                    | Q(kind="product", product__isnull=False)
                    | Q(kind="link", link_id__isnull=False)
                ),
                name="guestpay_target_by_kind",
            ),
            models.CheckConstraint(
                condition=Q(stock_reserved=False) | Q(product__isnull=False),
                name="guestpay_reservation_is_a_product",
            ),
        ]
        indexes = [
            models.Index(fields=["card_fingerprint", "created_at"], name="guestpay_card_recent"),
            models.Index(fields=["ip", "created_at"], name="guestpay_ip_recent"),
            models.Index(fields=["email", "status"], name="guestpay_email"),
            models.Index(fields=["creator", "-id"], name="guestpay_creator_newest"),
            models.Index(fields=["status", "created_at"], name="guestpay_status_age"),
            # A link's guest payments (its list and its totals on the owner's pages).
            models.Index(
                fields=["link_id", "-id"],
                condition=Q(link_id__isnull=False),
                name="guestpay_link_newest",
            ),
        ]

    def __str__(self) -> str:
        return f"guest payment {self.pk}"

    @property
    def net(self) -> int:
        return self.amount - self.fee

    @property
    def money(self) -> Money:
        return Money(self.amount, self.currency)
