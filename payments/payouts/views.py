"""Payout pages: history and request (with the fee and arrival shown before confirming),
and payout settings (bank account behind re-authentication, schedule)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.reauth import ReauthenticationRequired, reauthentication_required
from core.error_messages import error_message
from core.exceptions import DomainError
from core.idempotency import form_key, idempotent_form
from core.money import Money
from payments.payouts import bank_formats, selectors, services
from payments.payouts.errors import InvalidBankDetails
from payments.payouts.forms import (
    BankAccountForm,
    BankCountryForm,
    DebitCardForm,
    PayoutRequestForm,
    ScheduleForm,
    country_name,
)
from payments.wallets.payer import payer_reauthenticated
from payments.wallets.stepup import stepup_redirect, stepup_restore


def _index(request, form, destination):
    # A new bank account is on a safety hold: say until when before the form, not after it.
    on_hold = bool(
        destination
        and destination.payouts_allowed_at
        and destination.payouts_allowed_at > timezone.now()
    )
    return render(
        request,
        "payments/payouts/index.html",
        {
            "form": form,
            "payouts": selectors.payouts_of(user=request.user)[:50],
            "destination": destination,
            "hold_until": destination.payouts_allowed_at if on_hold else None,
            "verified": request.user.verification_tier == request.user.VerificationTier.VERIFIED,
        },
        # A refused form is a 4xx, like the API's answer to the same input.
        status=400 if request.method == "POST" else 200,
    )


@login_required
def payouts_page(request):
    """GET: history and the request form. POST: review the payout (moves nothing): what
    arrives, when, the fees, and from another wallet the conversion's rate and expiry."""
    # One query for the bank account: the form takes its currency, the page shows it.
    destination = selectors.payout_destination_active(user=request.user)
    currency = destination.currency if destination else None
    instant = bool(destination and destination.instant_available)
    if request.method == "POST":
        form = PayoutRequestForm(
            request.POST, destination_currency=currency, instant_available=instant
        )
    else:  # back from a re-authentication: the form as it was typed
        form = PayoutRequestForm(
            initial=stepup_restore(request) or None,
            destination_currency=currency,
            instant_available=instant,
        )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if data["from_currency"] != data["money"].currency:
                conversion = services.payout_conversion_quote(
                    user=request.user,
                    amount=data["money"],
                    method=data["method"],
                    from_currency=data["from_currency"],
                )
                quote = conversion.payout
            else:
                conversion = None
                quote = services.payout_quote(amount=data["money"], method=data["method"])
        except DomainError as exc:
            form.add_error(None, error_message(exc))
        else:
            echo = request.POST.copy()
            echo["fx_quote_id"] = conversion.fx_quote_id if conversion else ""
            return render(
                request,
                "payments/payouts/confirm.html",
                {
                    "quote": quote,
                    "conversion": conversion,
                    "echo": echo,
                    "destination": destination,
                    "idempotency_key": form_key(),
                },
            )
    return _index(request, form, destination)


@login_required
@require_POST
@idempotent_form("payouts.create")
def payout_confirm(request):
    destination = selectors.payout_destination_active(user=request.user)
    form = PayoutRequestForm(
        request.POST,
        destination_currency=destination.currency if destination else None,
        instant_available=bool(destination and destination.instant_available),
    )
    if not form.is_valid():
        messages.error(request, _("Check the payout and try again."))
        return render(
            request,
            "payments/payouts/index.html",
            {
                "form": form,
                "payouts": selectors.payouts_of(user=request.user)[:50],
                "destination": destination,
            },
            status=400,
        )
    data = form.cleaned_data
    try:
        if data["fx_quote_id"]:
            payout = services.payout_request_converted(
                user=request.user,
                amount=data["money"],
                method=data["method"],
                fx_quote_id=data["fx_quote_id"],
                request_key=request.POST["idempotency_key"],
                reauthenticated=payer_reauthenticated(request),
            )
        else:
            payout = services.payout_request(
                user=request.user,
                amount=data["money"],
                method=data["method"],
                request_key=request.POST["idempotency_key"],
                reauthenticated=payer_reauthenticated(request),
            )
    except ReauthenticationRequired:
        return stepup_redirect(
            request,
            back=reverse("payments:payouts"),
            fields=("amount", "currency", "method", "from_currency"),
        )
    except DomainError as exc:
        messages.error(request, error_message(exc))
        return _index(request, form, selectors.payout_destination_active(user=request.user))
    total = Money(payout.amount + payout.fee, payout.currency)
    messages.success(request, _("Payout of %(amount)s requested.") % {"amount": total.format()})
    return redirect("payments:payouts")


@login_required
def payout_settings(request):
    destination = selectors.payout_destination_active(user=request.user)
    form = ScheduleForm(
        request.POST or None, initial={"schedule": destination.schedule if destination else None}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.payout_schedule_set(user=request.user, schedule=form.cleaned_data["schedule"])
        except DomainError as exc:
            messages.error(request, error_message(exc))
        else:
            messages.success(request, _("Payout schedule saved."))
        return redirect("payments:payout-settings")
    return render(
        request,
        "payments/payouts/settings.html",
        {"destination": destination, "form": form},
    )


@login_required
@reauthentication_required
def payout_bank_account(request):
    """Two steps, no script needed: the bank's country (``?country=DE``), then the fields
    that country's accounts need. The hold that a change starts is shown before saving.
    Mistakes come back on the page (200, as every form page here), each on its field."""
    country = (request.POST.get("country") or request.GET.get("country") or "").upper()[:2]
    context = {
        "hold_hours": settings.PAYOUT_DESTINATION_HOLD_HOURS,
        "hold_until": timezone.now() + timedelta(hours=settings.PAYOUT_DESTINATION_HOLD_HOURS),
    }
    if country not in bank_formats.bank_countries():
        country_form = BankCountryForm(request.GET if "country" in request.GET else None)
        return render(
            request,
            "payments/payouts/bank_account.html",
            {**context, "country_form": country_form},
        )
    form = BankAccountForm(request.POST or None, country=country)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.payout_destination_add(
                user=request.user,
                country=country,
                currency=data["currency"],
                details=form.details(),
                account_holder_name=data["account_holder_name"],
            )
        except InvalidBankDetails as exc:
            form.add_bank_errors(exc.details.get("fields", {}))
        except DomainError as exc:
            form.add_error(None, error_message(exc))
        else:
            messages.success(request, _("Bank account saved. Payouts resume after the hold."))
            return redirect("payments:payout-settings")
    return render(
        request,
        "payments/payouts/bank_account.html",
        {**context, "form": form, "country": country, "country_name": country_name(country)},
    )


@login_required
@reauthentication_required
def payout_debit_card(request):
    """Add a debit card for instant payouts (it replaces the bank account as the
    destination, and starts the same hold, shown before saving)."""
    form = DebitCardForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.payout_card_add(user=request.user, token=form.cleaned_data["token"])
        except DomainError as exc:
            form.add_error("token", error_message(exc))
        else:
            messages.success(request, _("Debit card saved. Payouts resume after the hold."))
            return redirect("payments:payout-settings")
    return render(
        request,
        "payments/payouts/debit_card.html",
        {
            "form": form,
            "hold_hours": settings.PAYOUT_DESTINATION_HOLD_HOURS,
            "hold_until": timezone.now() + timedelta(hours=settings.PAYOUT_DESTINATION_HOLD_HOURS),
            "fee_bps": settings.PAYOUT_INSTANT_FEE_BPS,
        },
        status=400 if form.errors else 200,
    )


@login_required
@reauthentication_required
@require_POST
def payout_onboarding(request):
    """Send the person to the processor's onboarding (identity and bank, Stripe Connect)."""
    back = request.build_absolute_uri("/payouts/settings")
    try:
        url = services.payout_onboarding_link(user=request.user, refresh_url=back, return_url=back)
    except DomainError as exc:
        messages.error(request, error_message(exc))
        return redirect("payments:payout-settings")
    return redirect(url)
