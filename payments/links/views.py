"""Pages of payment links: the owner's list and form, the public page of a link (who is
paid, the amount, the fee lines; a review step before paying), the owner's page of a
link (its payments; turn it off). Paying goes through ``@idempotent_form``: the form's key
is the visitor's, so a double submit pays once. Pages are rate limited like the API."""

from __future__ import annotations

from datetime import UTC, datetime, time

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.reauth import ReauthenticationRequired
from accounts.selectors import user_get_by_handle
from core.error_messages import error_message
from core.exceptions import DomainError, NotFound
from core.idempotency import form_key, idempotent_form
from core.money import Money, currency_require_supported, supported_currencies
from payments.creators import guest_pages
from payments.links import errors, selectors, services
from payments.links.models import PaymentLink
from payments.links.qr import qr_png, qr_svg
from payments.links.throttle import links_throttle_check
from payments.wallets.payer import payer_reauthenticated
from payments.wallets.stepup import stepup_redirect, stepup_restore

#: What the pay form keeps across a re-authentication.
PAY_FIELDS = ("amount", "message")


def _throttled(request):
    try:
        links_throttle_check(request)
    except errors.RateLimited:
        return render(request, "429.html", status=429)
    return None


def _form_expiry(value: str) -> datetime | None:
    """A date typed in the form: the link works until the end of that day (UTC)."""
    value = (value or "").strip()
    if not value:
        return None
    day = parse_date(value) if len(value) <= 10 else None
    if day is None:
        raise errors.InvalidExpiry()
    return datetime.combine(day, time.max, tzinfo=UTC)


def _form_max_uses(value: str) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 7:
        raise errors.InvalidUseLimit()
    return int(value)


@login_required
def links_page(request):
    """The owner's links and the form for a new one."""
    ctx = {
        "links": selectors.links_of_owner(owner=request.user)[: selectors.PAGE_SIZE],
        "currencies": supported_currencies(),
        "kinds": PaymentLink.Kind,
        "form": request.POST if request.method == "POST" else {},
    }
    if request.method != "POST":
        return render(request, "payments/links/links.html", ctx)
    if (limited := _throttled(request)) is not None:
        return limited
    post = request.POST
    try:
        currency = currency_require_supported(post.get("currency", ""))
        kind = post.get("kind", "")
        typed = Money.parse_typed((post.get("amount") or "").strip(), currency)
        link = services.link_create(
            owner=request.user,
            kind=kind,
            currency=currency,
            amount=typed if kind == PaymentLink.Kind.FIXED else None,
            min_amount=typed if kind == PaymentLink.Kind.OPEN else None,
            note=post.get("note", ""),
            expires_at=_form_expiry(post.get("expires", "")),
            max_uses=_form_max_uses(post.get("max_uses", "")),
        )
    except DomainError as exc:
        ctx["error"] = error_message(exc)
        return render(request, "payments/links/links.html", ctx, status=422)
    messages.success(request, _("Your payment link is ready. Share it anywhere."))
    return redirect("payments:link-manage", slug=link.slug)


def _link_or_404(slug: str) -> PaymentLink:
    try:
        return services.link_get(slug=slug)
    except NotFound:
        raise Http404 from None


def link_page(request, slug: str):
    """The public page of a link; with POST, the review and then the payment (signed-in
    people only: a visitor is sent to log in and back)."""
    if (limited := _throttled(request)) is not None:
        return limited
    if request.method == "POST" and not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    return _link_page(request, slug)


@idempotent_form("links.pay.page")
def _link_page(request, slug: str):
    link = _link_or_404(slug)
    ctx = {
        "link": link,
        "idempotency_key": request.POST.get("idempotency_key") or form_key(),
        "form": request.POST if request.method == "POST" else stepup_restore(request),
        "is_owner": request.user.is_authenticated and request.user.pk == link.owner_id,
    }
    try:
        services.link_usable_check(link=link)
    except DomainError as exc:
        ctx["unusable"] = error_message(exc)
    if link.kind == PaymentLink.Kind.FIXED:
        ctx["quote"] = services.link_quote(link=link)
    else:
        ctx["minimum"] = Money(link.min_amount, link.currency)
    if request.method != "POST":
        return render(request, "payments/links/link.html", ctx)
    try:
        amount = None
        if link.kind == PaymentLink.Kind.OPEN:
            amount = Money.parse_typed((request.POST.get("amount") or "").strip(), link.currency)
        ctx["quote"] = services.link_quote(link=link, amount=amount)
    except DomainError as exc:
        ctx["error"] = error_message(exc)
        return render(request, "payments/links/link.html", ctx, status=422)
    if request.POST.get("step") != "confirm":
        return render(request, "payments/links/link_review.html", ctx)
    try:
        services.link_pay(
            payer=request.user,
            slug=link.slug,
            amount=amount,
            message=request.POST.get("message", ""),
            request_key=request.POST["idempotency_key"],
            reauthenticated=payer_reauthenticated(request),
        )
    except ReauthenticationRequired:
        return stepup_redirect(request, back=request.path, fields=PAY_FIELDS)
    except DomainError as exc:
        ctx["error"] = error_message(exc)
        return render(request, "payments/links/link_review.html", ctx, status=422)
    messages.success(
        request,
        _("You paid @%(handle)s %(amount)s.")
        % {"handle": link.owner.handle, "amount": ctx["quote"].gross.format()},
    )
    return redirect("payments:wallet")


@login_required
def link_manage_page(request, slug: str):
    """The owner's page of a link: where to share it, its payments, the off switch."""
    try:
        link = selectors.link_of_owner(owner=request.user, slug=slug)
    except NotFound:
        raise Http404 from None
    payments = selectors.link_payments(owner=request.user, slug=slug)[: selectors.PAGE_SIZE]
    guest_payments = selectors.link_guest_payments(owner=request.user, slug=slug)
    return render(
        request,
        "payments/links/manage.html",
        {"link": link, "payments": payments, "guest_payments": guest_payments},
    )


def link_guest_page(request, slug: str):
    """A visitor without an account pays a link by card (the guest checkout's two steps,
    then the payment's page)."""
    if (limited := _throttled(request)) is not None:
        return limited
    link = _link_or_404(slug)
    fixed = link.amount_money if link.kind == PaymentLink.Kind.FIXED else None
    ctx = guest_pages.checkout_context(
        request, title=f"@{link.owner.handle}", fixed=fixed, fee_kind="tip"
    )
    ctx.update(creator=link.owner, link=link, kind="link")
    try:
        services.link_usable_check(link=link)
        if link.max_uses is not None:
            raise errors.LinkGuestUnavailable()
    except DomainError as exc:
        ctx["error"] = error_message(exc)
        return render(request, "payments/creators/guest_checkout.html", ctx, status=exc.status)
    if link.kind == PaymentLink.Kind.OPEN:
        ctx["minimum"] = link.min_money
    if request.method != "POST":
        return render(request, "payments/creators/guest_checkout.html", ctx)

    def start(*, amount, **kw):
        return services.link_pay_guest(slug=link.slug, amount=amount, **kw)

    if link.kind == PaymentLink.Kind.OPEN:
        # The link's currency, whatever the form says.
        request.POST = request.POST.copy()
        request.POST["currency"] = link.currency
        return guest_pages.checkout_post(
            request,
            ctx,
            start=start,
            amount_from_form=True,
            fee_kind="tip",
            check=lambda amount: services.link_amount(link=link, amount=amount),
        )
    return guest_pages.checkout_post(
        request, ctx, start=start, amount_from_form=False, fee_kind="tip"
    )


@login_required
@require_POST
def link_deactivate(request, slug: str):
    try:
        services.link_deactivate(owner=request.user, slug=slug)
    except NotFound:
        raise Http404 from None
    messages.success(request, _("The payment link is turned off. Nobody can pay it any more."))
    return redirect("payments:link-manage", slug=slug)


# --- QR codes -------------------------------------------------------------------------------
#: What a QR code can point at, and the page it opens.
QR_TARGETS = {"profile": "posts:profile", "tip": "payments:tip-jar", "link": "payments:link"}
QR_FORMATS = {"svg": "image/svg+xml", "png": "image/png"}


def qr_code(request, kind: str, key: str, fmt: str):
    """``/qr/<profile|tip|link>/<handle or slug>.<svg|png>``: the QR code of that public
    page; ``?download=1`` saves it as a file (for print). Unknown targets are 404."""
    if kind not in QR_TARGETS or fmt not in QR_FORMATS:
        raise Http404
    if kind == "link":
        key = _link_or_404(key).slug
    else:
        try:
            key = user_get_by_handle(handle=key).handle
        except NotFound:
            raise Http404 from None
    url = request.build_absolute_uri(reverse(QR_TARGETS[kind], args=[key]))
    body = qr_svg(url, title=url) if fmt == "svg" else qr_png(url)
    response = HttpResponse(body, content_type=QR_FORMATS[fmt])
    # Public, and it changes only if the handle or the site's address does.
    response["Cache-Control"] = "public, max-age=3600"
    if request.GET.get("download"):
        response["Content-Disposition"] = f'attachment; filename="socialpay-{kind}-qr.{fmt}"'
    return response
