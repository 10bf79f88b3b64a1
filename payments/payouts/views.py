"""Payout pages: history and request (with the fee and arrival shown before confirming),
and payout settings (bank account behind re-authentication, schedule)."""

from __future__ import annotations

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
from payments.payouts import selectors, services
from payments.payouts.forms import BankAccountForm, PayoutRequestForm, ScheduleForm
from payments.wallets.payer import payer_reauthenticated
from payments.wallets.stepup import stepup_redirect, stepup_restore


@login_required
def payouts_page(request):
    """GET: history and the request form. POST: review the payout (moves nothing)."""
    if request.method == "POST":
        form = PayoutRequestForm(request.POST)
    else:  # back from a re-authentication: the form as it was typed
        form = PayoutRequestForm(initial=stepup_restore(request) or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            quote = services.payout_quote(amount=data["money"], method=data["method"])
        except DomainError as exc:
            form.add_error(None, error_message(exc))
        else:
            return render(
                request,
                "payments/payouts/confirm.html",
                {"quote": quote, "form_data": data, "idempotency_key": form_key()},
            )
    destination = selectors.payout_destination_active(user=request.user)
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
    )


@login_required
@require_POST
@idempotent_form("payouts.create")
def payout_confirm(request):
    form = PayoutRequestForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Check the payout and try again."))
        return redirect("payments:payouts")
    data = form.cleaned_data
    try:
        payout = services.payout_request(
            user=request.user,
            amount=data["money"],
            method=data["method"],
            request_key=request.POST["idempotency_key"],
            reauthenticated=payer_reauthenticated(request),
        )
    except ReauthenticationRequired:
        return stepup_redirect(
            request, back=reverse("payments:payouts"), fields=("amount", "currency", "method")
        )
    except DomainError as exc:
        messages.error(request, error_message(exc))
        return render(
            request,
            "payments/payouts/index.html",
            {
                "form": form,
                "payouts": selectors.payouts_of(user=request.user)[:50],
                "destination": selectors.payout_destination_active(user=request.user),
            },
            status=200,
        )
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
    form = BankAccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.payout_destination_add(
                user=request.user,
                account_number=data["account_number"].strip(),
                routing_number=data["routing_number"].strip(),
                account_holder_name=data["account_holder_name"],
            )
        except DomainError as exc:
            form.add_error(None, error_message(exc))
        else:
            messages.success(request, _("Bank account saved. Payouts resume after the hold."))
            return redirect("payments:payout-settings")
    return render(request, "payments/payouts/bank_account.html", {"form": form})


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
