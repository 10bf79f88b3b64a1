"""Reads of payment links. The payments of a link are for its owner only: nobody else,
not even another payer, learns who paid a link."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet, Sum

from accounts.models import User
from payments.creators.models import GuestPayment
from payments.links import errors
from payments.links.models import LinkPayment, PaymentLink

PAGE_SIZE = 50


def links_of_owner(*, owner: User) -> QuerySet[PaymentLink]:
    """The owner's links, newest first, each with its completed payment count and total
    (callers page it: the API by cursor, the page to ``PAGE_SIZE``)."""
    done = Q(payments__status=LinkPayment.Status.COMPLETED)
    return (
        PaymentLink.objects.filter(owner=owner)
        .annotate(
            paid_count=Count("payments", filter=done),
            paid_total=Sum("payments__amount", filter=done),
        )
        .order_by("-id")
    )


def link_of_owner(*, owner: User, slug: object) -> PaymentLink:
    """One of the owner's links; anyone else's (or none) is ``LinkNotFound``."""
    link = (
        PaymentLink.objects.filter(owner=owner, slug=slug).first()
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
