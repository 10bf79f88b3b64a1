"""Reads of creator money: who may read locked content, public tips on a post, order
lists, memberships, and the dashboard figures (earnings by day and kind, top supporters,
recent sales, escrow, members and MRR).

Amounts of tips are private: ``post_tips_public`` only returns tips their sender made
public, and the amount only when the sender chose to show it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import Count, Exists, Expression, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import JSONObject, Left, Now, TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from payments.creators.models import (
    GuestPayment,
    Membership,
    MembershipCharge,
    MembershipTier,
    Order,
    PayStatus,
    Product,
    Tip,
    Unlock,
    Visibility,
)

DASHBOARD_DAYS = 30
TOP_SUPPORTERS = 10
RECENT_SALES = 20
# Products shown on a post's card (the post page lists the same ones).
CARD_PRODUCTS_MAX = 5
CARD_DESCRIPTION_CHARS = 280
_LIVE = [Membership.Status.ACTIVE, Membership.Status.PAST_DUE]


def locked_access_q(*, viewer: User | None, post_ref: str = "pk", prefix: str = "") -> Q:
    """A filter expression (for ``annotate``) saying whether ``viewer`` may read a post's
    locked content: the author, a completed unlock, or a live membership (active, or past
    due within its grace period) of the post's tier or a pricier tier of the same creator.

    ``prefix`` = ``"repost_of__"`` (with ``post_ref="repost_of_id"``) asks the question of
    a repost's original, so a member reading a repost sees what they would see on the
    original. Subqueries only: the number of queries of a list never changes."""
    if viewer is None or not viewer.is_authenticated:
        return Q(pk__in=[])
    ref = OuterRef(post_ref)
    unlocked = Unlock.objects.filter(post_id=ref, buyer_id=viewer.pk, status=PayStatus.COMPLETED)
    # An unlock bought as a guest with an address this person verified (claimed).
    guest_unlocked = GuestPayment.objects.filter(
        post_id=ref,
        kind=GuestPayment.Kind.UNLOCK,
        claimed_by_id=viewer.pk,
        status=GuestPayment.Status.COMPLETED,
    )
    # The database's clock (Now()), not a value of ours: the SQL of a timeline page stays
    # the same from one request to the next, so it is compiled once (core.precompiled).
    member = Membership.objects.filter(
        member_id=viewer.pk,
        creator_id=OuterRef(f"{prefix}author_id"),
        tier__price_amount__gte=OuterRef(f"{prefix}members_tier__price_amount"),
        tier__price_currency=OuterRef(f"{prefix}members_tier__price_currency"),
    ).filter(Q(status=Membership.Status.ACTIVE) | Q(status="past_due", grace_until__gt=Now()))
    return (
        Q(**{f"{prefix}author_id": viewer.pk})
        | Q(Exists(unlocked))
        | Q(Exists(guest_unlocked))
        | (Q(**{f"{prefix}members_tier__isnull": False}) & Q(Exists(member)))
    )


def shown_locked_access_q(*, viewer: User | None) -> Q:
    """``locked_access_q`` of the post a row shows: itself, or a repost's original."""
    if viewer is None or not viewer.is_authenticated:
        return Q(pk__in=[])
    own = locked_access_q(viewer=viewer)
    original = locked_access_q(viewer=viewer, post_ref="repost_of_id", prefix="repost_of__")
    return (Q(repost_of__isnull=True) & own) | (Q(repost_of__isnull=False) & original)


def post_locked_readable(*, post, viewer: User | None) -> bool:
    """The same rule for one post already loaded."""
    from posts.models import Post

    if viewer is None or not viewer.is_authenticated:
        return False
    if post.author_id == viewer.pk:
        return True
    return Post.objects.filter(pk=post.pk).filter(locked_access_q(viewer=viewer)).exists()


def shown_products_annotation(shown_post_id: Expression) -> ArraySubquery:
    """The products for sale on the post a row shows, oldest first, at most
    ``CARD_PRODUCTS_MAX``, as ``[{"id", "title", "description", "kind", "price_amount",
    "price_currency", "stock", "seller_id", "photo", "photo_width", "photo_height",
    "photo_alt"}]`` (registered in ``posts.shown_parts``: a scan
    of the ``product_post`` index inside each timeline row's query)."""
    return ArraySubquery(
        Product.objects.filter(post_id=shown_post_id, is_active=True)
        .order_by("id")
        .values(json=_product_card_json())[:CARD_PRODUCTS_MAX]
    )


#: Products on a profile's Shop tab, newest first.
SHOP_PRODUCTS_MAX = 24
#: Membership tiers on a profile's Memberships tab, cheapest first.
PROFILE_TIERS_MAX = 10


def _product_card_json() -> JSONObject:
    """A product as its card shows it (the shape of ``shown_products``' items)."""
    return JSONObject(
        id="id",
        title="title",
        # Enough for the card to show 280 characters and an ellipsis.
        description=Left("description", CARD_DESCRIPTION_CHARS + 1),
        kind="kind",
        price_amount="price_amount",
        price_currency="price_currency",
        stock="stock",
        seller_id="seller_id",
        photo="photo",
        photo_width="photo_width",
        photo_height="photo_height",
        photo_alt="photo_alt",
    )


def shop_products_q() -> Q:
    """Products for sale: active, on a post that is still there."""
    return Q(is_active=True, post__deleted_at__isnull=True)


def shop_products(*, seller: User, before: int | None = None) -> tuple[list[dict], int | None]:
    """A page of a seller's products for sale, newest first: at most ``SHOP_PRODUCTS_MAX``
    card dicts with an id below ``before``, and the cursor of the next page or None (one
    query: a row more than the page says whether there is one)."""
    qs = Product.objects.filter(shop_products_q(), seller_id=seller.pk)
    if before is not None:
        qs = qs.filter(id__lt=before)
    rows = list(
        qs.order_by("-id").values_list(_product_card_json(), flat=True)[: SHOP_PRODUCTS_MAX + 1]
    )
    page = rows[:SHOP_PRODUCTS_MAX]
    return page, (page[-1]["id"] if len(rows) > SHOP_PRODUCTS_MAX else None)


def tiers_active(*, creator: User) -> QuerySet[MembershipTier]:
    """A creator's active membership tiers, cheapest first, at most ``PROFILE_TIERS_MAX``."""
    return MembershipTier.objects.filter(creator_id=creator.pk, is_active=True).order_by(
        "price_amount", "id"
    )[:PROFILE_TIERS_MAX]


def post_tips_public(*, post_id: int) -> QuerySet[Tip]:
    """Public completed tips on a post, newest first (the API pages it)."""
    return (
        Tip.objects.filter(
            post_id=post_id, status=PayStatus.COMPLETED, visibility=Visibility.PUBLIC
        )
        .select_related("tipper")
        .order_by("-id")
    )


def tip_public_dict(tip: Tip) -> dict:
    return {
        "object": "tip",
        "id": tip.pk,
        "from": tip.tipper.handle,
        "note": tip.message,
        "amount": {"amount": tip.amount, "currency": tip.currency} if tip.show_amount else None,
        "created_at": tip.created_at,
    }


def orders_for(*, user: User, role: str) -> QuerySet[Order]:
    field = "seller" if role == "seller" else "buyer"
    return (
        Order.objects.filter(**{field: user})
        .select_related("product", "buyer", "seller")
        .order_by("-id")
    )


def guest_sales_of(*, seller: User, limit: int = 100) -> list[GuestPayment]:
    """The seller's completed card sales to visitors without an account, newest first,
    with the product and, for a physical one, where to ship it (the seller is the one
    person who sees it; the guest's e-mail is not shown)."""
    return list(
        GuestPayment.objects.filter(
            creator=seller, kind=GuestPayment.Kind.PRODUCT, status=GuestPayment.Status.COMPLETED
        )
        .select_related("product")
        .order_by("-id")[:limit]
    )


def order_get_for(*, user: User, order_id: int) -> Order | None:
    """The order if ``user`` is its buyer or seller, else None (callers answer 404)."""
    return (
        Order.objects.filter(Q(buyer=user) | Q(seller=user), pk=order_id)
        .select_related("product", "buyer", "seller")
        .first()
    )


def order_delivery_visible(*, order: Order, viewer: User) -> bool:
    """Digital delivery is for the buyer only, once the money is in (or past) escrow."""
    return order.buyer_id == viewer.pk and order.status in (
        Order.Status.PAID,
        Order.Status.SHIPPED,
        Order.Status.RELEASING,
        Order.Status.RELEASED,
    )


def memberships_of(*, member: User) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(member=member).select_related("tier", "creator").order_by("-id")
    )


def dashboard(*, creator: User, days: int = DASHBOARD_DAYS) -> dict:
    """Earnings (net, in minor units) by day and kind over ``days`` days, per currency,
    plus top supporters, recent sales, pending escrow, live members and MRR."""
    since = timezone.now() - timedelta(days=days)
    series: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))

    def add(kind: str, rows) -> None:
        # Added, not set: a kind's wallet and guest payments of one day are two rows.
        for row in rows:
            days_of_kind = series[row["currency"]][kind]
            day = row["day"].isoformat()
            days_of_kind[day] = days_of_kind.get(day, 0) + int(row["net"])

    def by_day(qs, date_field: str, net_expr):
        return (
            qs.annotate(day=TruncDate(date_field))
            .values("day", "currency")
            .annotate(net=net_expr)
            .order_by("day")
        )

    from django.db.models import F

    done = {"status": PayStatus.COMPLETED}
    add(
        "tip",
        by_day(
            Tip.objects.filter(creator=creator, completed_at__gte=since, **done),
            "completed_at",
            Sum(F("amount") - F("fee")),
        ),
    )
    add(
        "unlock",
        by_day(
            Unlock.objects.filter(creator=creator, completed_at__gte=since, **done),
            "completed_at",
            Sum(F("amount") - F("fee")),
        ),
    )
    add(
        "sale",
        by_day(
            Order.objects.filter(
                seller=creator, status=Order.Status.RELEASED, finished_at__gte=since
            ),
            "finished_at",
            Sum(F("amount") - F("refunded_amount") - F("fee")),
        ),
    )
    add(
        "membership",
        by_day(
            MembershipCharge.objects.filter(
                membership__creator=creator, completed_at__gte=since, **done
            ),
            "completed_at",
            Sum(F("amount") - F("fee")),
        ),
    )
    # Guest card payments, settled to the creator at once (a guest's product is never in
    # escrow): each counts once, on the day it completed, as the wallet payment of its
    # kind. A payment link's (like a wallet payment of a link) is on the links page.
    # One query for the three kinds (grouped by kind too), not one per kind.
    guest_kinds = {
        GuestPayment.Kind.TIP: "tip",
        GuestPayment.Kind.UNLOCK: "unlock",
        GuestPayment.Kind.PRODUCT: "sale",
    }
    guest_rows = (
        GuestPayment.objects.filter(
            creator=creator,
            status=GuestPayment.Status.COMPLETED,
            completed_at__gte=since,
            kind__in=list(guest_kinds),
        )
        .annotate(day=TruncDate("completed_at"))
        .values("day", "currency", "kind")
        .annotate(net=Sum(F("amount") - F("fee")))
        .order_by("day")
    )
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for row in guest_rows:
        by_kind[guest_kinds[row["kind"]]].append(row)
    for kind, rows in by_kind.items():
        add(kind, rows)
    day_labels = [(since + timedelta(days=i + 1)).date().isoformat() for i in range(days)]
    supporters: dict[tuple[int, str], int] = defaultdict(int)
    for model, who in ((Tip, "tipper"), (Unlock, "buyer")):
        rows = (
            model.objects.filter(creator=creator, **done)
            .values(who, f"{who}__handle", "currency")
            .annotate(total=Sum("amount"))
        )
        for row in rows:
            supporters[(row[f"{who}__handle"], row["currency"])] += int(row["total"])
    orders = (
        Order.objects.filter(seller=creator, status=Order.Status.RELEASED)
        .values("buyer__handle", "currency")
        .annotate(total=Sum(F("amount") - F("refunded_amount")))
    )
    for row in orders:
        supporters[(row["buyer__handle"], row["currency"])] += int(row["total"])
    top = sorted(supporters.items(), key=lambda kv: -kv[1])[:TOP_SUPPORTERS]
    escrow = (
        Order.objects.filter(seller=creator, status__in=[*Order.IN_ESCROW, "releasing"])
        .values("currency")
        .annotate(total=Sum(F("amount") - F("refunded_amount")), n=Count("id"))
    )
    live = Membership.objects.filter(creator=creator, status__in=_LIVE)
    mrr = live.values("tier__price_currency").annotate(total=Sum("tier__price_amount"))
    from core.money import EXPONENTS

    currencies = set(series) | {r["currency"] for r in escrow}
    return {
        "days": day_labels,
        "exponents": {cur: EXPONENTS[cur] for cur in sorted(currencies)},
        "earnings": {
            cur: {kind: [values.get(d, 0) for d in day_labels] for kind, values in kinds.items()}
            for cur, kinds in series.items()
        },
        "totals": {
            cur: {kind: sum(values.values()) for kind, values in kinds.items()}
            for cur, kinds in series.items()
        },
        "top_supporters": [
            {"handle": handle, "amount": total, "currency": cur} for (handle, cur), total in top
        ],
        "recent_sales": list(
            Order.objects.filter(seller=creator)
            .exclude(status__in=[Order.Status.PENDING, Order.Status.FAILED])
            .select_related("product", "buyer")
            .order_by("-id")[:RECENT_SALES]
        ),
        "recent_guest_sales": guest_sales_of(seller=creator, limit=RECENT_SALES),
        "pending_escrow": [
            {"currency": r["currency"], "amount": int(r["total"]), "orders": r["n"]} for r in escrow
        ],
        "members": live.count(),
        "mrr": [{"currency": r["tier__price_currency"], "amount": int(r["total"])} for r in mrr],
    }


# --- wallet statement lines -----------------------------------------------------------------
# The wallet's statement asks each area to describe the lines it booked (see
# payments.wallets.selectors.statement_describer); these are registered in CreatorsConfig.ready.
# Each returns {ident: (description, the other person's handle)} in one query.
STATEMENT_TITLE_CHARS = 40
Described = dict[str, tuple[str, str | None]]


def _title(text: str) -> str:
    """A post's or product's name in a statement line: its first words, in typographic
    single quotes."""
    text = " ".join((text or "").split())
    if len(text) > STATEMENT_TITLE_CHARS:
        text = text[: STATEMENT_TITLE_CHARS - 1].rstrip() + "\u2026"
    return f"\u2018{text}\u2019"


def _ids(idents: list[str]) -> list[int]:
    return [int(i) for i in idents if i.isdigit()]


def tip_statement_descriptions(*, user: User, idents: list[str]) -> Described:
    """``tip:<id>``: "Tip to @carol for 'Studio notes'" or "Tip from @bob"."""
    described = {}
    tips = Tip.objects.filter(pk__in=_ids(idents)).select_related("tipper", "creator", "post")
    for tip in tips:
        sent = tip.tipper_id == user.pk
        other = tip.creator if sent else tip.tipper
        args = {"handle": other.handle}
        if tip.post_id:
            args["title"] = _title(tip.post.text)
            text = (
                _("Tip to @%(handle)s for %(title)s")
                if sent
                else _("Tip from @%(handle)s for %(title)s")
            )
        else:
            text = _("Tip to @%(handle)s") if sent else _("Tip from @%(handle)s")
        described[str(tip.pk)] = (text % args, other.handle)
    return described


def guest_payment_statement_descriptions(*, user: User, idents: list[str]) -> Described:
    """``guest_payment:<id>``: what a visitor without an account paid the creator by card
    (no counterparty: the guest has no handle, and their e-mail is not shown)."""
    described: Described = {}
    rows = GuestPayment.objects.filter(pk__in=_ids(idents), creator=user).select_related(
        "post", "product"
    )
    for g in rows:
        if g.kind == GuestPayment.Kind.UNLOCK and g.post is not None:
            text = _("A visitor unlocked %(title)s by card") % {"title": _title(g.post.text)}
        elif g.kind == GuestPayment.Kind.PRODUCT and g.product is not None:
            text = _("A visitor bought %(title)s by card") % {"title": g.product.title}
        elif g.kind == GuestPayment.Kind.LINK:
            text = _("A visitor paid your payment link by card")
        else:
            text = _("Tip by card from a visitor")
        described[str(g.pk)] = (str(text), None)
    return described


def unlock_statement_descriptions(*, user: User, idents: list[str]) -> Described:
    """``unlock:<id>``: "Unlocked 'Studio notes' by @carol" or "@bob unlocked 'Studio notes'"."""
    described = {}
    unlocks = Unlock.objects.filter(pk__in=_ids(idents)).select_related("buyer", "creator", "post")
    for unlock in unlocks:
        bought = unlock.buyer_id == user.pk
        other = unlock.creator if bought else unlock.buyer
        args = {"handle": other.handle, "title": _title(unlock.post.text)}
        text = (
            _("Unlocked %(title)s by @%(handle)s")
            if bought
            else _("@%(handle)s unlocked %(title)s")
        )
        described[str(unlock.pk)] = (text % args, other.handle)
    return described


def order_statement_descriptions(*, user: User, idents: list[str]) -> Described:
    """``order:<id>``: "'Cat print' from @carol" for the buyer, "'Cat print' sold to @bob"
    for the seller (payment, release and refund lines share the order's reference)."""
    described = {}
    orders = Order.objects.filter(pk__in=_ids(idents)).select_related("buyer", "seller", "product")
    for order in orders:
        bought = order.buyer_id == user.pk
        other = order.seller if bought else order.buyer
        args = {"handle": other.handle, "title": _title(order.product.title)}
        text = _("%(title)s from @%(handle)s") if bought else _("%(title)s sold to @%(handle)s")
        described[str(order.pk)] = (text % args, other.handle)
    return described


def membership_statement_descriptions(*, user: User, idents: list[str]) -> Described:
    """``membership:<id>``: "Membership 'Print club' with @carol" for the member,
    "Membership 'Print club' of @bob" for the creator."""
    described = {}
    found = Membership.objects.filter(pk__in=_ids(idents)).select_related(
        "member", "creator", "tier"
    )
    for m in found:
        joined = m.member_id == user.pk
        other = m.creator if joined else m.member
        args = {"handle": other.handle, "tier": _title(m.tier.name)}
        text = (
            _("Membership %(tier)s with @%(handle)s")
            if joined
            else _("Membership %(tier)s of @%(handle)s")
        )
        described[str(m.pk)] = (text % args, other.handle)
    return described


def guest_purchases(*, user: User) -> list[GuestPayment]:
    """What ``user`` paid as a guest before having (or using) an account: the completed
    guest payments claimed by them, newest first (at most 200)."""
    return list(
        GuestPayment.objects.filter(claimed_by=user, status=GuestPayment.Status.COMPLETED)
        .select_related("creator", "post", "product")
        .order_by("-id")[:200]
    )
