"""FX pages: the overview (balances and their total in the home currency), converting
between one's wallets, and sending money abroad with a live quote.

Flow of both money pages, which work without JavaScript: the form is sent to the page (a
``POST`` that only prices: a quote moves no money) and comes back with the quote — mid rate,
our fee, what arrives, a countdown — and a confirm form carrying the quote id and a fresh
idempotency key. With htmx the quote panel refreshes itself when it expires; without it, an
expired quote is re-priced on confirm and shown again. Confirming is ``@idempotent_form``.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.error_messages import error_message
from core.exceptions import DomainError
from core.idempotency import form_key, idempotent_form
from payments.fx import selectors, services
from payments.fx.forms import ConvertForm, HomeCurrencyForm, SendForm
from payments.fx.quotes import Pricing
from payments.wallets.errors import RecipientNotFound
from payments.wallets.payer import payer_reauthenticated, stepup_required


def _quote_context(request, *, kind: str, form) -> dict:
    """Price the form's request; returns the panel's context (a quote or an error)."""
    data = form.cleaned_data
    money = data["money"]
    try:
        if kind == "send":
            quote = services.fx_quote_create(
                user=request.user,
                source_currency=money.currency,
                target_currency=None,
                source_amount=money.amount,
                to=data["to"],
            )
        else:
            quote = services.fx_quote_create(
                user=request.user,
                source_currency=money.currency,
                target_currency=data["target_currency"],
                source_amount=money.amount,
            )
    except RecipientNotFound:
        return {"quote_error": _("We could not find that person.")}
    except DomainError as exc:
        return {"quote_error": error_message(exc)}
    return {
        "quote": quote,
        "pricing": services.quote_pricing(quote),
        "idempotency_key": form_key(),
        "expires_in": max(1, int((quote.expires_at - timezone.now()).total_seconds())),
    }


def _page(request, *, kind: str, form, extra: dict | None = None, status: int = 200):
    context = {
        "form": form,
        "kind": kind,
        "panel_url": reverse("payments:fx-quote-panel", args=[kind]),
        "confirm_url": reverse(f"payments:fx-{kind}-confirm"),
        **(extra or {}),
    }
    template = "payments/fx/send.html" if kind == "send" else "payments/fx/convert.html"
    return render(request, template, context, status=status)


def _form_class(kind: str):
    return SendForm if kind == "send" else ConvertForm


@login_required
@require_http_methods(["GET", "POST"])
def fx_convert(request):
    return _money_page(request, kind="convert")


@login_required
@require_http_methods(["GET", "POST"])
def fx_send(request):
    return _money_page(request, kind="send")


def _money_page(request, *, kind: str):
    form_class = _form_class(kind)
    if request.method == "GET":
        initial = {"currency": request.user.home_currency}
        if kind == "send" and request.GET.get("to"):
            initial["to"] = request.GET["to"][:64]
        return _page(request, kind=kind, form=form_class(initial=initial))
    form = form_class(request.POST)
    if not form.is_valid():
        return _page(request, kind=kind, form=form, status=400)
    return _page(request, kind=kind, form=form, extra=_quote_context(request, kind=kind, form=form))


@login_required
@require_POST
def fx_quote_panel(request, kind: str):
    """htmx: a fresh quote panel for the form's values (the old quote expired)."""
    if kind not in ("send", "convert"):
        raise Http404
    form = _form_class(kind)(request.POST)
    context = {"kind": kind, "form": form, "confirm_url": reverse(f"payments:fx-{kind}-confirm")}
    context["panel_url"] = reverse("payments:fx-quote-panel", args=[kind])
    if form.is_valid():
        context.update(_quote_context(request, kind=kind, form=form))
    else:
        context["quote_error"] = _("Check the form above.")
    return render(request, "payments/fx/_quote.html", context)


def _confirm(request, *, kind: str):
    form = _form_class(kind)(request.POST)
    if not form.is_valid():
        return _page(request, kind=kind, form=form, status=400)
    quote_id = request.POST.get("quote", "")
    if kind == "send" and _needs_reauthentication(request, quote_id):
        extra = {
            "flash": _("This is a large payment: confirm it is you, then send it again."),
            "reauth_url": f"{reverse('account_reauthenticate')}?next={reverse('payments:fx-send')}",
        }
        return _page(request, kind=kind, form=form, extra=extra)
    try:
        if kind == "send":
            quote = services.fx_transfer_execute(
                user=request.user,
                quote_id=quote_id,
                to=form.cleaned_data["to"],
                note=form.cleaned_data.get("note", ""),
                reauthenticated=payer_reauthenticated(request),
            )
        else:
            quote = services.fx_conversion_execute(user=request.user, quote_id=quote_id)
    except services.QuoteExpired as exc:
        extra = _quote_context(request, kind=kind, form=form)
        extra["flash"] = error_message(exc)
        return _page(request, kind=kind, form=form, extra=extra)
    except RecipientNotFound:
        return _page(
            request, kind=kind, form=form, extra={"flash": _("We could not find that person.")}
        )
    except DomainError as exc:
        return _page(request, kind=kind, form=form, extra={"flash": error_message(exc)})
    messages.success(request, _("Done.") if kind == "convert" else _("Sent."))
    return redirect("payments:fx-receipt", quote_id=quote.pk)


def _needs_reauthentication(request, quote_id: str) -> bool:
    """Large sends need a recent re-authentication, as for P2P transfers."""
    try:
        quote = selectors.quote_get(user=request.user, quote_id=quote_id)
    except DomainError:
        return False  # the service answers "not found" itself
    return stepup_required(
        counted=services.fx_limit_amount(quote), reauthenticated=payer_reauthenticated(request)
    )


@login_required
@require_POST
@idempotent_form("fx.convert")
def fx_convert_confirm(request):
    return _confirm(request, kind="convert")


@login_required
@require_POST
@idempotent_form("fx.send")
def fx_send_confirm(request):
    return _confirm(request, kind="send")


@login_required
@require_GET
def fx_receipt(request, quote_id):
    try:
        quote = selectors.quote_get(user=request.user, quote_id=quote_id)
    except DomainError:
        raise Http404 from None
    if quote.entry_id is None:
        raise Http404
    pricing: Pricing = services.quote_pricing(quote)
    return render(request, "payments/fx/receipt.html", {"quote": quote, "pricing": pricing})


@login_required
@require_http_methods(["GET", "POST"])
def fx_overview(request):
    """Balances in every currency, their total in the home currency, the home currency."""
    if request.method == "POST":
        form = HomeCurrencyForm(request.POST)
        if form.is_valid():
            services.fx_home_currency_set(user=request.user, currency=form.cleaned_data["currency"])
            messages.success(
                request,
                _("Your home currency is now %(currency)s.")
                % {"currency": request.user.home_currency},
            )
            return redirect("payments:fx-overview")
    else:
        form = HomeCurrencyForm(initial={"currency": request.user.home_currency})
    suggestion = services.home_currency_suggest(
        accept_language=request.headers.get("Accept-Language", "")
    )
    return render(
        request,
        "payments/fx/overview.html",
        {
            "form": form,
            "suggestion": suggestion if suggestion != request.user.home_currency else None,
        },
    )
