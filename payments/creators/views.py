"""Pages of the creator flows. Every payment has two steps: a form, then a review page
that shows the amount, the fee lines and the total (nothing pre-ticked); only the
confirmation moves money, through ``@idempotent_form`` so a double submit pays once.

A large payment asks for a recent re-authentication (the step-up rule of
``payments.wallets.payer``): the page sends the person to re-authenticate and back to the
form with what they typed (``payments.wallets.stepup``)."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.reauth import ReauthenticationRequired
from accounts.selectors import user_get_by_handle
from core.counts import typed_count
from core.error_messages import error_message
from core.exceptions import DomainError, NotFound
from core.idempotency import form_key, idempotent_form
from core.money import Money, currency_require_supported, supported_currencies
from payments.creators import selectors, services
from payments.creators.fees import fee_quote
from payments.creators.models import MembershipTier, Order, Product
from payments.wallets.payer import payer_reauthenticated
from payments.wallets.prefill import amount_prefill, amount_text
from payments.wallets.stepup import stepup_redirect, stepup_restore

#: What the tip form keeps across a re-authentication.
TIP_FIELDS = ("preset", "custom", "currency", "message", "public", "show_amount")


def _amount_from_form(post) -> Money:
    """The chosen preset (minor units) or the custom amount typed in major units."""
    currency = currency_require_supported(post.get("currency", "USD"))
    custom = post.get("custom") or ""
    if custom.strip():
        # Passed as typed: a padded or exponent amount is refused, not repaired.
        return services.amount_check(money=Money.parse_typed(custom, currency))
    preset = typed_count(post.get("preset", ""))
    if preset is None or preset not in settings.CREATOR_TIP_PRESETS:
        return services.amount_check(money=Money.parse_typed("", currency))
    return services.amount_check(money=Money(preset, currency))


# --- tips -----------------------------------------------------------------------------------
def _tip_target(post_id: int | None, handle: str | None):
    if post_id is not None:
        try:
            post = services.post_get_for_payment(post_id)
        except NotFound:
            raise Http404 from None
        return post, post.author
    try:
        return None, user_get_by_handle(handle=handle)
    except NotFound:
        raise Http404 from None


def _tip_form_prefill(request) -> dict:
    """What a re-authentication kept, else the amount of a shared ``?amount=`` link (a
    preset when it is one, else the custom field); bad values are ignored."""
    kept = stepup_restore(request)
    if kept:
        return kept
    suggested = amount_prefill(request.GET, default_currency=request.user.home_currency)
    if suggested is None:
        return {}
    if suggested.currency == "USD" and suggested.amount in settings.CREATOR_TIP_PRESETS:
        return {"preset": str(suggested.amount), "currency": suggested.currency}
    return {"custom": amount_text(suggested), "currency": suggested.currency}


def tip_page(request, post_id: int | None = None, handle: str | None = None):
    """The tip form. A visitor without an account is sent to the card checkout of the
    tip jar (a post's tip jar is its author's), with a shared ``?amount=`` kept."""
    if not request.user.is_authenticated:
        query = request.GET.copy()
        if post_id is not None:
            post, creator = _tip_target(post_id, None)
            handle = creator.handle
            query["post"] = str(post.pk)
        url = reverse("payments:guest-tip", args=[handle])
        return redirect(url + (f"?{query.urlencode()}" if query else ""))
    return _tip_page(request, post_id=post_id, handle=handle)


@login_required
@idempotent_form("creators.tip.page")
def _tip_page(request, post_id: int | None = None, handle: str | None = None):
    post, creator = _tip_target(post_id, handle)
    ctx = {
        "post": post,
        "creator": creator,
        "presets": [Money(p, "USD") for p in settings.CREATOR_TIP_PRESETS],
        "currencies": supported_currencies(),
        "idempotency_key": request.POST.get("idempotency_key") or form_key(),
        "form": request.POST if request.method == "POST" else _tip_form_prefill(request),
    }
    # With htmx the form, the review and the result replace each other in one panel (on
    # the tip page or under a post); without it they are whole pages.
    panel = "#tip-panel" if request.htmx else ""
    if request.method != "POST":
        return render(request, "payments/creators/tip.html" + panel, ctx)
    try:
        amount = _amount_from_form(request.POST)
    except DomainError as exc:
        ctx["error"] = error_message(exc)
        # htmx swaps only 2xx answers into the panel; a whole page says 400 like the API.
        status = 200 if request.htmx else 400
        return render(request, "payments/creators/tip.html" + panel, ctx, status=status)
    ctx["quote"] = fee_quote(kind="tip", gross=amount)
    if request.POST.get("step") != "confirm":
        return render(request, "payments/creators/tip_review.html" + panel, ctx)
    try:
        tip = services.tip_send(
            tipper=request.user,
            post_id=post.pk if post else None,
            creator=None if post else creator,
            amount=amount,
            request_key=request.POST["idempotency_key"],
            message=request.POST.get("message", ""),
            visibility="public" if request.POST.get("public") == "on" else "private",
            show_amount=request.POST.get("show_amount") == "on",
            reauthenticated=payer_reauthenticated(request),
        )
    except ReauthenticationRequired:
        return stepup_redirect(request, back=request.path, fields=TIP_FIELDS)
    except DomainError as exc:
        ctx["error"] = error_message(exc)
        return render(request, "payments/creators/tip_review.html" + panel, ctx)
    receipt_url = reverse("payments:wallet") + f"?currency={amount.currency}"
    if request.htmx:
        # A second click sends the same key: tip_send returns this same tip, paid once.
        response = render(
            request,
            "payments/creators/_tip_done.html",
            {"tip": tip, "amount": amount, "receipt_url": receipt_url},
        )
        response["HX-Trigger"] = "balanceChanged"
        return response
    messages.success(
        request,
        format_html(
            '{} <a href="{}">{}</a>',
            _("You tipped @%(handle)s %(amount)s.")
            % {"handle": creator.handle, "amount": amount.format()},
            receipt_url,
            _("See it in your wallet statement"),
        ),
    )
    if post:
        return redirect("posts:detail", post_id=post.pk)
    return redirect("posts:profile", handle=creator.handle)


# --- unlocks --------------------------------------------------------------------------------
@login_required
@idempotent_form("creators.unlock.page")
def unlock_page(request, post_id: int):
    try:
        post = services.post_get_for_payment(post_id)
    except NotFound:
        raise Http404 from None
    if post.price_amount is None:
        raise Http404
    quote = fee_quote(kind="unlock", gross=Money(post.price_amount, post.price_currency))
    ctx = {"post": post, "quote": quote, "idempotency_key": form_key()}
    if request.method != "POST":
        return render(request, "payments/creators/unlock.html", ctx)
    try:
        services.unlock_purchase(
            buyer=request.user, post_id=post.pk, reauthenticated=payer_reauthenticated(request)
        )
    except ReauthenticationRequired:
        return stepup_redirect(request, back=request.path, fields=())
    except DomainError as exc:
        messages.error(request, error_message(exc))
        return render(request, "payments/creators/unlock.html", ctx)
    messages.success(request, _("Unlocked. Enjoy!"))
    return redirect("posts:detail", post_id=post.pk)


@login_required
def lock_page(request, post_id: int):
    """The author puts locked content and a price (or a members tier) on a post."""
    try:
        post = services.post_get_for_payment(post_id)
    except NotFound:
        raise Http404 from None
    if post.author_id != request.user.pk:
        raise Http404
    tiers = MembershipTier.objects.filter(creator=request.user, is_active=True)
    ctx = {"post": post, "tiers": tiers, "currencies": supported_currencies()}
    if request.method == "POST":
        try:
            price = None
            if (request.POST.get("price") or "").strip():
                price = Money.parse_typed(request.POST["price"], request.POST.get("currency"))
            services.post_set_paid_content(
                author=request.user,
                post=post,
                locked_text=request.POST.get("locked_text", ""),
                price=price,
                members_tier_id=typed_count(request.POST.get("members_tier") or ""),
            )
        except DomainError as exc:
            messages.error(request, error_message(exc))
            return render(request, "payments/creators/lock.html", ctx, status=400)
        messages.success(request, _("The locked content is saved."))
        return redirect("posts:detail", post_id=post.pk)
    return render(request, "payments/creators/lock.html", ctx)


# --- products and orders --------------------------------------------------------------------
@login_required
def product_new(request, post_id: int):
    try:
        post = services.post_get_for_payment(post_id)
    except NotFound:
        raise Http404 from None
    if post.author_id != request.user.pk:
        raise Http404
    ctx = {"post": post, "currencies": supported_currencies(), "form": request.POST}
    if request.method == "POST":
        try:
            stock = typed_count(request.POST.get("stock", ""))
            services.product_create(
                seller=request.user,
                post_id=post.pk,
                title=request.POST.get("title", ""),
                description=request.POST.get("description", ""),
                price=Money.parse_typed(
                    request.POST.get("price", ""), request.POST.get("currency")
                ),
                stock=-1 if stock is None else stock,
                kind=request.POST.get("kind", ""),
                delivery_url=request.POST.get("delivery_url", ""),
            )
        except DomainError as exc:
            messages.error(request, error_message(exc))
            return render(request, "payments/creators/product_new.html", ctx, status=400)
        messages.success(request, _("The product is on your post."))
        return redirect("posts:detail", post_id=post.pk)
    return render(request, "payments/creators/product_new.html", ctx)


@login_required
@idempotent_form("creators.order.page")
def buy_page(request, product_id: int):
    product = (
        Product.objects.select_related("post", "seller")
        .filter(pk=product_id, is_active=True, post__deleted_at__isnull=True)
        .first()
    )
    if product is None:
        raise Http404
    typed = request.POST if request.method == "POST" else stepup_restore(request)
    quantity = typed_count(typed.get("quantity", "1")) or 0
    ctx = {
        "product": product,
        "quantity": quantity or 1,
        "address": typed.get("shipping_address", ""),
        "idempotency_key": request.POST.get("idempotency_key") or form_key(),
    }
    if request.method != "POST":
        return render(request, "payments/creators/buy.html", ctx)
    if not 1 <= quantity <= services.MAX_ORDER_QUANTITY:
        messages.error(request, _("The quantity must be a whole number from 1 to 100."))
        return render(request, "payments/creators/buy.html", ctx, status=400)
    total = Money(product.price_amount * quantity, product.price_currency)
    ctx["total"] = total
    ctx["sale_quote"] = fee_quote(kind="sale", gross=total)
    if request.POST.get("step") != "confirm":
        return render(request, "payments/creators/buy_review.html", ctx)
    try:
        order = services.order_create(
            buyer=request.user,
            product_id=product.pk,
            quantity=quantity,
            shipping_address=ctx["address"],
            request_key=request.POST["idempotency_key"],
            reauthenticated=payer_reauthenticated(request),
        )
    except ReauthenticationRequired:
        return stepup_redirect(request, back=request.path, fields=("quantity", "shipping_address"))
    except DomainError as exc:
        messages.error(request, error_message(exc))
        return render(request, "payments/creators/buy.html", ctx)
    messages.success(request, _("Paid. The money is held safely until delivery."))
    return redirect("payments:order", order_id=order.pk)


@login_required
def orders_page(request):
    role = "seller" if request.GET.get("role") == "seller" else "buyer"
    orders = selectors.orders_for(user=request.user, role=role)[:100]
    guest_sales = selectors.guest_sales_of(seller=request.user) if role == "seller" else []
    return render(
        request,
        "payments/creators/orders.html",
        {"orders": orders, "role": role, "guest_sales": guest_sales},
    )


@login_required
def order_page(request, order_id: int):
    order = selectors.order_get_for(user=request.user, order_id=order_id)
    if order is None:
        raise Http404
    return render(
        request,
        "payments/creators/order.html",
        {
            "order": order,
            "is_seller": order.seller_id == request.user.pk,
            "delivery": selectors.order_delivery_visible(order=order, viewer=request.user),
            "can_ship": order.status == Order.Status.PAID and order.product.kind == "physical",
            "in_escrow": order.status in Order.IN_ESCROW,
            "escrow": Money(order.in_escrow, order.currency),
            "idempotency_key": form_key(),
        },
    )


@login_required
@require_POST
@idempotent_form("creators.order.action")
def order_action(request, order_id: int, action: str):
    try:
        if action == "ship":
            services.order_ship(seller=request.user, order_id=order_id)
        elif action == "confirm":
            services.order_confirm(buyer=request.user, order_id=order_id)
        elif action == "refund":
            text = request.POST.get("amount") or ""
            order = selectors.order_get_for(user=request.user, order_id=order_id)
            # Blank: the whole order; otherwise parsed as typed (padding is refused).
            amount = Money.parse_typed(text, order.currency) if text.strip() and order else None
            services.order_refund(
                seller=request.user,
                order_id=order_id,
                amount=amount,
                reason=request.POST.get("reason", ""),
            )
        else:
            raise Http404
    except NotFound:
        raise Http404 from None
    except DomainError as exc:
        messages.error(request, error_message(exc))
    return redirect("payments:order", order_id=order_id)


# --- memberships ----------------------------------------------------------------------------
@login_required
def tiers_page(request):
    status = 200
    if request.method == "POST":
        try:
            services.tier_create(
                creator=request.user,
                name=request.POST.get("name", ""),
                price=Money.parse_typed(
                    request.POST.get("price", ""), request.POST.get("currency")
                ),
                perks=request.POST.get("perks", ""),
            )
            messages.success(request, _("Tier created."))
            return redirect("payments:tiers")
        except DomainError as exc:
            messages.error(request, error_message(exc))
            status = 400
    tiers = MembershipTier.objects.filter(creator=request.user, is_active=True).order_by(
        "price_amount"
    )
    return render(
        request,
        "payments/creators/tiers.html",
        {"tiers": tiers, "currencies": supported_currencies()},
        status=status,
    )


@login_required
@idempotent_form("creators.membership.page")
def join_page(request, tier_id: int):
    tier = MembershipTier.objects.select_related("creator").filter(pk=tier_id, is_active=True)
    tier = tier.first()
    if tier is None:
        raise Http404
    quote = fee_quote(kind="membership", gross=Money(tier.price_amount, tier.price_currency))
    ctx = {"tier": tier, "quote": quote, "idempotency_key": form_key()}
    if request.method != "POST":
        return render(request, "payments/creators/join.html", ctx)
    try:
        services.membership_subscribe(
            member=request.user, tier_id=tier.pk, reauthenticated=payer_reauthenticated(request)
        )
    except ReauthenticationRequired:
        return stepup_redirect(request, back=request.path, fields=())
    except DomainError as exc:
        messages.error(request, error_message(exc))
        return render(request, "payments/creators/join.html", ctx)
    messages.success(request, _("Welcome to %(tier)s!") % {"tier": tier.name})
    return redirect("payments:memberships")


@login_required
def memberships_page(request):
    if request.method == "POST":
        membership_id = request.POST.get("membership", "")
        try:
            services.membership_cancel(
                member=request.user,
                membership_id=typed_count(membership_id) or 0,
            )
            messages.success(request, _("Cancelled: you keep access until the period ends."))
        except DomainError as exc:
            messages.error(request, error_message(exc))
        return redirect("payments:memberships")
    return render(
        request,
        "payments/creators/memberships.html",
        {"memberships": selectors.memberships_of(member=request.user)[:100]},
    )


# --- dashboard ------------------------------------------------------------------------------
@login_required
def dashboard_page(request):
    data = selectors.dashboard(creator=request.user)
    return render(
        request,
        "payments/creators/dashboard.html",
        {"data": data, "chart_url": reverse("payments:dashboard-data")},
    )


@login_required
def dashboard_data(request):
    data = selectors.dashboard(creator=request.user)
    data.pop("recent_sales")
    data.pop("recent_guest_sales")
    return JsonResponse(json.loads(json.dumps(data)))
