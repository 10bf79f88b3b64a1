"""Reads of payment links. The payments of a link are for its owner only: nobody else,
not even another payer, learns who paid a link."""

from __future__ import annotations

from django.db.models import BigIntegerField, Count, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from accounts.models import User
from payments.creators.models import GuestPayment
from payments.links import errors
from payments.links.models import LinkPayment, PaymentLink

PAGE_SIZE = 50


def _paid(qs: QuerySet, value) -> Coalesce:
    """One figure (a count or a sum) of the completed payments ``qs`` of the outer link."""
    figure = qs.order_by().values("status").annotate(v=value).values("v")[:1]
    return Coalesce(Subquery(figure, output_field=BigIntegerField()), Value(0))


def links_with_totals(links: QuerySet[PaymentLink]) -> QuerySet[PaymentLink]:
    """``links``, each with ``paid_count`` and ``paid_total`` (minor units of the link's
    currency): its completed wallet payments and its completed guest card payments, each
    counted once (one subquery per table, not a join of the two that would multiply)."""
    wallet = LinkPayment.objects.filter(link_id=OuterRef("pk"), status=LinkPayment.Status.COMPLETED)
    guest = GuestPayment.objects.filter(
        kind=GuestPayment.Kind.LINK,
        link_id=OuterRef("pk"),
        status=GuestPayment.Status.COMPLETED,
    )
    return links.annotate(
        paid_count=_paid(wallet, Count("id")) + _paid(guest, Count("id")),
        paid_total=_paid(wallet, Sum("amount")) + _paid(guest, Sum("amount")),
    )


def links_of_owner(*, owner: User) -> QuerySet[PaymentLink]:
    """The owner's links, newest first, each with its completed payment count and total
    (``links_with_totals``; callers page it: the API by cursor, the page to
    ``PAGE_SIZE``)."""
    return links_with_totals(PaymentLink.objects.filter(owner=owner)).order_by("-id")


def link_of_owner(*, owner: User, slug: object) -> PaymentLink:
    """One of the owner's links; anyone else's (or none) is ``LinkNotFound``."""
    link = (
        links_with_totals(PaymentLink.objects.filter(owner=owner, slug=slug)).first()
        if isinstance(slug, str)
        else None
    )
    if link is None:
        raise errors.LinkNotFound()
    return link


def link_payments(*, owner: User, slug: object) -> QuerySet[LinkPayment]:
    """The completed payments of one of ``owner``'s links, newest first (with the payer:
    the owner is the one person who sees who paid); callers page it."""
    link = link_of_owner(owner=owner, slug=slug)
    return (
        LinkPayment.objects.filter(link=link, status=LinkPayment.Status.COMPLETED)
        .select_related("payer")
        .order_by("-id")
    )


def link_guest_payments(*, owner: User, slug: object, limit: int = PAGE_SIZE) -> list[GuestPayment]:
    """The completed card payments of visitors without an account through one of
    ``owner``'s links, newest first (the guest is shown by nothing but the message)."""
    link = link_of_owner(owner=owner, slug=slug)
    return list(
        GuestPayment.objects.filter(
            kind=GuestPayment.Kind.LINK, link_id=link.pk, status=GuestPayment.Status.COMPLETED
        ).order_by("-id")[:limit]
    )
