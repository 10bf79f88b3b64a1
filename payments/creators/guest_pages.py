"""Pages of guest payments by card: a visitor without an account tips a creator, unlocks a
post or buys a product (``services.guests``). Two steps like every payment page —
a form, then a review with the fee lines — then the payment's own page, which waits for
the processor's confirmation (and asks for 3-D Secure when the bank wants it).

The card is a processor token chosen from the test cards (``WALLET_TEST_CARDS``, as the
top-up page offers them): no card number is ever typed into, or sent to, our server.
The payment page's URL holds the checkout's random key: only whoever paid knows it."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.selectors import user_get_by_handle
from core.client_ip import client_ip
from core.counts import typed_count
from core.error_messages import error_message
from core.exceptions import DomainError, NotFound
from core.money import Money, currency_require_supported, supported_currencies
from payments.creators import selectors, services
from payments.creators.fees import fee_quote
from payments.creators.models import GuestPayment, Product
from payments.creators.services import guests
from payments.wallets.prefill import amount_prefill, amount_text

FIELDS = ("email", "amount", "currency", "message", "payment_method")


def new_client_key() -> str:
    """The checkout's key: random, so the payment page's URL cannot be guessed."""
    return secrets.token_urlsafe(24)


def checkout_context(request, *, title: str, fixed: Money | None, fee_kind: str) -> dict:
    """What every guest checkout form shows (also used by payment links)."""
    form = request.POST if request.method == "POST" else {}
    return {
        "title": title,
        "fixed": fixed,
        "quote": fee_quote(kind=fee_kind, gross=fixed) if fixed else None,
        "fee_kind": fee_kind,
        "cards": settings.WALLET_TEST_CARDS,
        "currencies": supported_currencies(),
        "client_key": form.get("client_key") or new_client_key(),
        "form": form,
        "action": request.path,
    }


def typed_amount(post, *, currency_default: str = "USD") -> Money:
    """The amount typed in major units (``7.50``) and its currency. Raises money errors."""
    currency = currency_require_supported(post.get("currency") or currency_default)
    return services.amount_check(
        money=Money.parse_typed((post.get("amount") or "").strip(), currency)
    )


def checkout_post(request, ctx: dict, *, start, amount_from_form: bool, fee_kind: str, check=None):
    """Handle a POST of a guest checkout: review first, then pay. ``start`` takes the
    amount and the common fields and returns the ``GuestPayment``; ``check`` (optional)
    validates a typed amount further (a link's minimum)."""
    post = request.POST
    try:
        amount = typed_amount(post) if amount_from_form else ctx["fixed"]
        if check is not None:
            amount = check(amount)
        ctx["quote"] = fee_quote(kind=fee_kind, gross=amount)
        ctx["amount_text"] = post.get("amount", "")
        if post.get("step") != "pay":
            guests.email_clean(post.get("email"))
            return render(request, "payments/creators/guest_review.html", ctx)
        guest = start(
            amount=amount,
            email=post.get("email", ""),
            payment_method=post.get("payment_method", ""),
            client_key=post.get("client_key", ""),
            ip=client_ip(request),
            message=post.get("message", ""),
            site_url=request.build_absolute_uri("/"),
        )
    except DomainError as exc:
        ctx["error"] = error_message(exc)
        # A failed payment keeps its row: the payment page says why.
        row = GuestPayment.objects.filter(client_key=post.get("client_key", "")).first()
        if row is not None and row.status == GuestPayment.Status.FAILED:
            return redirect("payments:guest-payment", client_key=row.client_key)
        return render(request, "payments/creators/guest_checkout.html", ctx, status=exc.status)
    return redirect("payments:guest-payment", client_key=guest.client_key)


def guest_tip_page(request, handle: str):
    """A visitor tips ``handle`` (the tip jar) by card."""
    try:
        creator = user_get_by_handle(handle=handle)
    except NotFound:
        raise Http404 from None
    ctx = checkout_context(request, title=f"@{creator.handle}", fixed=None, fee_kind="tip")
    # A tip on one of the creator's posts (``?post=``, kept through the form).
    post_id = typed_count(request.POST.get("post") or request.GET.get("post") or "")
    post = None
    if post_id is not None:
        try:
            post = services.post_get_for_payment(post_id)
        except NotFound:
            raise Http404 from None
        if post.author_id != creator.pk:
            raise Http404
    ctx.update(creator=creator, kind="tip", post=post)
    if request.method != "POST":
        suggested = amount_prefill(request.GET, default_currency="USD")
        if suggested is not None:
            ctx["form"] = {"amount": amount_text(suggested), "currency": suggested.currency}
        return render(request, "payments/creators/guest_checkout.html", ctx)

    def start(**kw):
        if post is not None:
            return guests.guest_checkout_start(kind="tip", post_id=post.pk, **kw)
        return guests.guest_checkout_start(kind="tip", creator=creator, **kw)

    return checkout_post(request, ctx, start=start, amount_from_form=True, fee_kind="tip")


def guest_unlock_page(request, post_id: int):
    """A visitor unlocks one paid post by card."""
    try:
        post = services.post_get_for_payment(post_id)
    except NotFound:
        raise Http404 from None
    if post.price_amount is None:
        raise Http404
    price = Money(post.price_amount, post.price_currency)
    ctx = checkout_context(request, title=f"@{post.author.handle}", fixed=price, fee_kind="unlock")
    ctx.update(creator=post.author, post=post, kind="unlock")
    if request.method != "POST":
        return render(request, "payments/creators/guest_checkout.html", ctx)

    def start(*, amount, message, **kw):
        return guests.guest_checkout_start(kind="unlock", post_id=post.pk, **kw)

    return checkout_post(request, ctx, start=start, amount_from_form=False, fee_kind="unlock")


def guest_product_page(request, product_id: int):
    """A visitor buys one product by card (a physical one with a shipping address)."""
    product = (
        Product.objects.select_related("seller", "post")
        .filter(pk=product_id, is_active=True)
        .first()
    )
    if product is None or not product.seller.is_active:
        raise Http404
    price = Money(product.price_amount, product.price_currency)
    ctx = checkout_context(request, title=product.title, fixed=price, fee_kind="sale")
    ctx.update(creator=product.seller, product=product, kind="product")
    if request.method != "POST":
        return render(request, "payments/creators/guest_checkout.html", ctx)

    def start(*, amount, message, **kw):
        return guests.guest_checkout_start(
            kind="product",
            product_id=product.pk,
            shipping_name=request.POST.get("shipping_name", ""),
            shipping_address=request.POST.get("shipping_address", ""),
            **kw,
        )

    def shipping_check(amount: Money) -> Money:
        # At the review already, so the guest corrects the address before paying.
        guests.shipping_clean(
            product, request.POST.get("shipping_name"), request.POST.get("shipping_address")
        )
        return amount

    return checkout_post(
        request, ctx, start=start, amount_from_form=False, fee_kind="sale", check=shipping_check
    )


def guest_payment_page(request, client_key: str):
    """The payment's page: waiting, authentication, done (with the access link) or failed.
    While pending it re-reads itself (htmx) until the processor's webhook lands."""
    try:
        guest = guests.guest_payment_get(client_key=client_key)
    except NotFound:
        raise Http404 from None
    ctx = {"guest": guest}
    if guest.status == GuestPayment.Status.COMPLETED and guests.guest_has_access(guest):
        ctx["access_token"] = guests.guest_access_token(guest=guest)
    template = "payments/creators/guest_payment.html" + ("#status" if request.htmx else "")
    return render(request, template, ctx)


@require_POST
def guest_payment_confirm(request, client_key: str):
    """After the bank's authentication (3-D Secure): confirm the payment."""
    try:
        guests.guest_checkout_confirm(client_key=client_key)
    except NotFound:
        raise Http404 from None
    except DomainError:
        pass  # the payment page shows the row's state (a decline included)
    return redirect("payments:guest-payment", client_key=client_key)


def guest_access_page(request, token: str):
    """What a signed access link opens: the unlocked post or the product's download."""
    try:
        guest = guests.guest_access_check(token=token)
    except DomainError as exc:
        return render(
            request,
            "payments/creators/guest_access.html",
            {"error": error_message(exc)},
            status=exc.status,
        )
    locked_text = guest.post.locked_text if guest.kind == "unlock" and guest.post else ""
    return render(
        request,
        "payments/creators/guest_access.html",
        {"guest": guest, "locked_text": locked_text},
    )


@login_required
def guest_purchases_page(request):
    """A person's payments made as a guest with an address they verified."""
    guests.guest_payments_claim(user=request.user)
    rows = selectors.guest_purchases(user=request.user)
    items = [
        {
            "guest": g,
            "token": guests.guest_access_token(guest=g) if guests.guest_has_access(g) else None,
        }
        for g in rows
    ]
    return render(request, "payments/creators/guest_purchases.html", {"items": items})
