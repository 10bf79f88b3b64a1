"""Paid content: an author puts locked text behind a price and/or a members tier, and
readers buy access once (an unlock: D wallet:buyer · C wallet:creator · C fees)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from core.money import Money
from core.text import text_clean
from ledger import chart
from payments.creators import errors
from payments.creators.fees import fee_quote
from payments.creators.models import MembershipTier, PayStatus, Unlock
from payments.creators.services.common import (
    amount_check,
    paid_or_raise,
    payee_check,
    payment_completed,
    payment_insert,
    post_get_for_payment,
    split_entry,
)
from payments.wallets.events import event_spec
from payments.wallets.payer import payer_check
from payments.wallets.receipts import ReceiptSide, payment_receipts
from posts import services as posts
from posts.models import LOCKED_TEXT_MAX_LENGTH, Post


# --- unlocks --------------------------------------------------------------------------------
def unlock_purchase(
    *, buyer: User, post_id: int, reauthenticated: bool | None = None
) -> tuple[Unlock, bool]:
    """Buy access to ``post_id``'s locked content. Returns ``(unlock, created)``.

    At most one charge per person and post, even under concurrency: the partial UNIQUE
    (post, buyer) lets one unlock exist; a concurrent or repeated call finds it.
    One transaction (the package's shape). Locks: the buyer's user row (share) and
    ``SendLimit`` row, the buyer's wallet.
    Raises ``PostNotFound`` (blocked too), ``PostNotForSale``, ``CannotPaySelf``,
    ``AccountFrozen``, ``LimitExceeded``/``VelocityExceeded``, ``ReauthenticationRequired``,
    ``InsufficientFunds``.
    """
    post = post_get_for_payment(post_id, payer=buyer)
    if post.author_id == buyer.pk:
        raise errors.CannotPaySelf()
    if post.price_amount is None:
        raise errors.PostNotForSale()
    payee_check(
        payer=buyer, payee=post.author, not_found=errors.PostNotFound, blocked=post.payer_blocked
    )
    quote = fee_quote(kind="unlock", gross=Money(post.price_amount, post.price_currency))
    with transaction.atomic():
        # The row first: an unlock that exists stops here at the unique (post, buyer) and
        # is returned, without a lookup before every first purchase and without checking
        # (or reserving) the limits again. A refused payer check rolls the row back (this
        # block is a savepoint inside a caller's transaction).
        unlock = Unlock(
            post=post,
            buyer=buyer,
            creator_id=post.author_id,
            amount=quote.gross.amount,
            fee=quote.fee.amount,
            currency=quote.gross.currency,
        )
        # A partial key: a failed unlock does not hold it.
        if not payment_insert(unlock, key="unlock_once"):
            # Bought before, or meanwhile by a concurrent request of the same person.
            existing = _unlock_of(post=post, buyer=buyer)
            assert existing is not None, "the key was taken by a committed unlock"
            return paid_or_raise(existing), False
        payer_check(
            payer_id=buyer.pk, money=quote.gross, reauthenticated=reauthenticated, reserve=True
        )
        entry = split_entry(
            code="creator.unlock",
            idempotency_key=f"creators:unlock:{unlock.pk}",
            payer_key=chart.wallet_key(buyer.pk, unlock.currency),
            payee_key=chart.wallet_key(post.author_id, unlock.currency),
            quote=quote,
            reference=f"unlock:{unlock.pk}",
            metadata={"post": post.pk},
        )
        now = timezone.now()
        payment_completed(Unlock, pk=unlock.pk, entry=entry, now=now)
        unlock.status, unlock.entry, unlock.completed_at = PayStatus.COMPLETED, entry, now
        _receipts(unlock=unlock, buyer=buyer, creator=post.author)
    return unlock, True


def _unlock_of(*, post: Post, buyer: User) -> Unlock | None:
    return (
        Unlock.objects.select_related("post")
        .filter(post=post, buyer=buyer)
        .exclude(status=PayStatus.FAILED)
        .first()
    )


def _receipts(*, unlock: Unlock, buyer: User, creator: User) -> None:
    payment_receipts(
        event=f"unlock:{unlock.pk}",
        target_type="post",
        target_id=unlock.post_id,
        money=Money(unlock.amount, unlock.currency),
        data={"unlock": unlock.pk, "amount": unlock.amount, "currency": unlock.currency},
        # The webhook event goes in the receipts' own statement (a transfer's shape).
        events=[
            event_spec(
                "post.unlocked",
                creator.pk,
                {
                    "unlock": unlock.pk,
                    "post": unlock.post_id,
                    "amount": Money(unlock.amount, unlock.currency).as_dict(),
                    "fee": Money(unlock.fee, unlock.currency).as_dict(),
                    "from": buyer.handle,
                },
            )
        ],
        sides=[
            ReceiptSide(
                role="creator",
                user=creator,
                other=buyer,
                kind="post_unlocked",
                subject=_("@%(handle)s unlocked your post for %(amount)s"),
                body=[_("@%(handle)s unlocked your post for %(amount)s.")],
                text=_("unlocked your post for %(amount)s"),
            ),
            ReceiptSide(
                role="buyer",
                user=buyer,
                other=creator,
                kind="post_unlock_paid",
                subject=_("You unlocked a post of @%(handle)s for %(amount)s"),
                body=[_("You unlocked a post of @%(handle)s for %(amount)s.")],
                text=_("— you unlocked their post for %(amount)s."),
            ),
        ],
    )


# --- paid content ---------------------------------------------------------------------------
def paid_content_check(
    *, author: User, locked_text: str, price: Money | None, members_tier_id: int | None
) -> tuple[str, Money | None, MembershipTier | None]:
    """Validate paid content before anything is written (a post is created only with
    valid paid content). Locked text needs a price, a members tier, or both."""
    locked_text = text_clean(
        value=locked_text or "", max_length=LOCKED_TEXT_MAX_LENGTH, field="locked_text"
    )
    tier = None
    if members_tier_id is not None:
        tier = MembershipTier.objects.filter(
            pk=members_tier_id, creator=author, is_active=True
        ).first()
        if tier is None:
            raise errors.TierNotFound()
    if price is not None:
        amount_check(money=price)
    if (price is not None or tier is not None) and not locked_text:
        raise errors.InvalidChoice(
            "Paid or members-only content needs locked_text.", details={"field": "locked_text"}
        )
    if locked_text and price is None and tier is None:
        raise errors.InvalidChoice(
            "Locked text needs a price or a members tier.", details={"field": "price"}
        )
    return locked_text, price, tier


def post_set_paid_content(
    *,
    author: User,
    post: Post,
    locked_text: str,
    price: Money | None = None,
    members_tier_id: int | None = None,
) -> Post:
    """Put ``locked_text`` behind ``price`` and/or a members tier on the author's post."""
    if post.author_id != author.pk:
        raise errors.NotYourPost()
    locked_text, price, tier = paid_content_check(
        author=author, locked_text=locked_text, price=price, members_tier_id=members_tier_id
    )
    Post.objects.filter(pk=post.pk).update(
        locked_text=locked_text,
        price_amount=price.amount if price else None,
        price_currency=price.currency if price else "",
        members_tier=tier,
    )
    post.refresh_from_db()
    return post


def paid_post_create(
    *,
    author: User,
    text: str,
    locked_text: str,
    price: Money | None = None,
    members_tier_id: int | None = None,
    reply_to_id: int | None = None,
) -> Post:
    """Publish a post with paid content, in one transaction: the paid content is checked
    first, then the post and its locked part are written together (a refusal writes
    neither). Raises what ``paid_content_check`` and ``posts.services.post_create``
    raise."""
    paid_content_check(
        author=author, locked_text=locked_text, price=price, members_tier_id=members_tier_id
    )
    with transaction.atomic():
        post = posts.post_create(author=author, text=text, reply_to_id=reply_to_id)
        return post_set_paid_content(
            author=author,
            post=post,
            locked_text=locked_text,
            price=price,
            members_tier_id=members_tier_id,
        )
