"""Wallet pages: balances and statement (with CSV export), top up with a sandbox test card,
send money (handle autocomplete; a confirm step shows amount, fee and total), request
money, the requests inbox and the payment feed.

Every form works without JavaScript. Money forms carry ``idempotency_key`` rendered with
the form and are handled under ``@idempotent_form``: a double click or a re-post lands on
the first result. Amounts are typed in major units ("12.50") and parsed by ``Money.parse``.
"""

from __future__ import annotations

import csv
from datetime import date
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.reauth import ReauthenticationRequired
from accounts.selectors import user_search
from core.error_messages import error_message
from core.exceptions import DomainError, ValidationFailed
from core.idempotency import form_key, idempotent_form
from core.money import Money, currency_require_supported, supported_currencies
from payments.wallets import requests as money_requests
from payments.wallets import selectors, topups, transfers
from payments.wallets.errors import AmountNotPositive
from payments.wallets.limits import limits_summary
from payments.wallets.models import Visibility
from payments.wallets.payer import payer_reauthenticated
from payments.wallets.prefill import amount_prefill, amount_text
from payments.wallets.stepup import stepup_redirect, stepup_restore
from payments.wallets.text import visibility_parse
from payments.wallets.verification import verification_request_create

STATEMENT_CSV_MAX_LINES = 10_000
REQUESTS_SHOWN = 50


def _money(request) -> Money:
    # Not stripped: parse_typed refuses blank and padded amounts with invalid_amount.
    money = Money.parse_typed(request.POST.get("amount", ""), request.POST.get("currency", ""))
    currency_require_supported(money.currency)
    if not money.is_positive:
        raise AmountNotPositive()
    return money


def _common(request) -> dict:
    return {"currencies": supported_currencies(), "home_currency": request.user.home_currency}


# --- wallet and statement -------------------------------------------------------------------
@login_required
@require_GET
def wallet(request):
    currency = request.GET.get("currency") or request.user.home_currency
    try:
        cursor = int(request.GET["cursor"]) if request.GET.get("cursor") else None
        page = selectors.wallet_statement(
            user=request.user, currency=currency, before=cursor, limit=50
        )
    except (DomainError, ValueError):
        raise Http404 from None
    limits = limits_summary(user=request.user)
    people = selectors.statement_people(statement=page)
    return render(
        request,
        "payments/wallet/wallet.html",
        {
            "balances": selectors.wallet_balances(user=request.user),
            "statement": page,
            # Each line with the other person (for the avatar), or None for top-ups, payouts …
            "activity": [(line, people.get(line.counterparty)) for line in page.lines],
            "limits": limits,
            "limits_money": {
                "weekly": Money(limits.weekly_send, limits.currency),
                "remaining": Money(limits.weekly_remaining, limits.currency),
                "per_transfer": Money(limits.per_transfer, limits.currency),
            },
            **_common(request),
        },
    )


@login_required
@require_GET
def balance(request):
    """htmx: the balance line, asked for again when a money action sends ``balanceChanged``."""
    try:
        currency = currency_require_supported(
            request.GET.get("currency") or request.user.home_currency
        )
    except DomainError:
        raise Http404 from None
    if not request.htmx:
        return redirect(reverse("payments:wallet") + "?" + urlencode({"currency": currency}))
    return render(
        request,
        "payments/wallet/_balance.html",
        {"balance": selectors.wallet_available(user=request.user, currency=currency)},
    )


class _Echo:
    def write(self, value):
        return value


@login_required
@require_GET
def statement_csv(request):
    currency = request.GET.get("currency") or request.user.home_currency
    try:
        first = selectors.wallet_statement(user=request.user, currency=currency, limit=200)
    except DomainError:
        raise Http404 from None

    def rows():
        writer = csv.writer(_Echo())
        yield writer.writerow(
            ["entry_id", "date", "description", "counterparty", "amount", "currency", "balance"]
        )
        page, written = first, 0
        while True:
            for line in page.lines:
                # A leading =, +, - or @ would make a spreadsheet run the cell as a formula.
                description = line.description
                if description[:1] in {"=", "+", "-", "@"}:
                    description = "'" + description
                yield writer.writerow(
                    [
                        line.entry_id,
                        line.created_at.isoformat(),
                        description,
                        line.counterparty or "",
                        f"{line.change.to_decimal():f}",
                        line.change.currency,
                        f"{line.balance_after.to_decimal():f}",
                    ]
                )
                written += 1
            if page.next_cursor is None or written >= STATEMENT_CSV_MAX_LINES:
                return
            page = selectors.wallet_statement(
                user=request.user, currency=currency, before=page.next_cursor, limit=200
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="statement-{first.currency}.csv"'
    return response


# --- top-ups --------------------------------------------------------------------------------
@login_required
@idempotent_form("wallet.topup")
def topup_new(request):
    error = None
    if request.method == "POST":
        try:
            card = request.POST.get("card", "")
            if card not in dict(settings.WALLET_TEST_CARDS):
                raise topups.InvalidPaymentMethod()
            money = _money(request)
            if request.POST.get("step") != "confirm":
                # Review first, like every payment: amount, fee, what the card is charged.
                return render(
                    request,
                    "payments/wallet/topup_review.html",
                    {
                        "money": money,
                        "fee": Money.zero(money.currency),
                        "card_label": dict(settings.WALLET_TEST_CARDS)[card],
                        "form_key": request.POST["idempotency_key"],
                    },
                )
            topup = topups.topup_create(
                user=request.user,
                money=money,
                payment_method=card,
                client_key=f"form:{request.POST['idempotency_key']}",
            )
            return redirect("payments:wallet-topup", topup_id=topup.pk)
        except DomainError as exc:
            error = exc
    return render(
        request,
        "payments/wallet/topup.html",
        {
            "cards": settings.WALLET_TEST_CARDS,
            "form_key": form_key(),
            "error": error,
            "posted": request.POST,
            **_common(request),
        },
        status=400 if error else 200,
    )


@login_required
@require_GET
def topup_detail(request, topup_id: int):
    try:
        topup = selectors.topup_get(user=request.user, topup_id=topup_id)
    except DomainError:
        raise Http404 from None
    return render(
        request,
        # htmx re-reads only the status while the top-up is pending.
        "payments/wallet/topup_detail.html" + ("#status" if request.htmx else ""),
        {"topup": topup, "money": Money(topup.amount, topup.currency), "form_key": form_key()},
    )


@login_required
@require_POST
@idempotent_form("wallet.topup_confirm")
def topup_confirm(request, topup_id: int):
    try:
        topups.topup_confirm(user=request.user, topup_id=topup_id)
    except DomainError as exc:
        if exc.status == 404:
            raise Http404 from None
        messages.error(request, error_message(exc))
    return redirect("payments:wallet-topup", topup_id=topup_id)


# --- send money -----------------------------------------------------------------------------
@login_required
@require_GET
def people(request):
    """htmx: <option>s for the handle field's datalist."""
    query = request.GET.get("to") or request.GET.get("from") or ""
    found = user_search(query=query, limit=8)
    found = [u for u in found if u.pk != request.user.pk]
    return render(request, "payments/wallet/_people.html", {"people": found})


@login_required
def send(request):
    """Step 1 (GET): the form. Step 2 (POST): review amount, fee and total."""
    ctx = {"visibilities": Visibility.choices, **_common(request)}
    if request.method == "POST":
        try:
            money = _money(request)
            recipient = transfers.recipient_resolve(
                sender=request.user, to=request.POST.get("to", "")
            )
            visibility = visibility_parse(
                request.POST.get("visibility"),
                choices=Visibility.values,
                default=request.user.payment_visibility_default,
            )
            return render(
                request,
                "payments/wallet/send_confirm.html",
                {
                    "recipient": recipient,
                    "money": money,
                    "fee": Money.zero(money.currency),
                    "total": money,
                    "amount_text": request.POST.get("amount", "").strip(),
                    "note": request.POST.get("note", "")[:140],
                    "visibility": visibility,
                    "visibility_label": Visibility(visibility).label,
                    "warnings": selectors.send_review_warnings(user=request.user, money=money),
                    "form_key": form_key(),
                },
            )
        except DomainError as exc:
            ctx.update(error=exc, posted=request.POST)
            return render(request, "payments/wallet/send.html", ctx, status=400)
    # Back from a re-authentication the large payment asked for: the form as it was typed.
    posted = {"to": request.GET.get("to", "")[:64]}
    # ``?amount=`` from a shared link: a suggestion, dropped silently when unreadable.
    if suggested := amount_prefill(request.GET, default_currency=request.user.home_currency):
        posted.update(amount=amount_text(suggested), currency=suggested.currency)
    ctx.update(posted={**posted, **stepup_restore(request)})
    return render(request, "payments/wallet/send.html", ctx)


@login_required
@require_POST
@idempotent_form("wallet.send")
def send_confirm(request):
    try:
        transfer = transfers.transfer_create(
            sender=request.user,
            to=request.POST.get("to", ""),
            money=_money(request),
            note=request.POST.get("note", ""),
            visibility=request.POST.get("visibility") or None,
            client_key=f"form:{request.POST['idempotency_key']}",
            reauthenticated=payer_reauthenticated(request),
        )
    except ReauthenticationRequired:
        # Large payments need a fresh proof of identity; the person comes back to the form
        # as typed and sends it again (a new key: this one is spent on the redirect).
        return stepup_redirect(
            request,
            back=reverse("payments:wallet-send"),
            fields=("to", "amount", "currency", "note", "visibility"),
        )
    except DomainError as exc:
        return render(
            request,
            "payments/wallet/send.html",
            {
                "visibilities": Visibility.choices,
                "error": exc,
                "posted": request.POST,
                **_common(request),
            },
            status=400,
        )
    messages.success(request, _("You paid @%(handle)s.") % {"handle": transfer.recipient.handle})
    return redirect("payments:wallet-transfer", transfer_id=transfer.pk)


@login_required
@require_GET
def transfer_detail(request, transfer_id: int):
    """The address receipts and notifications have always linked to: the payment's page."""
    return payment_detail(request, "transfer", str(transfer_id))


@login_required
@require_GET
def payment_detail(request, kind: str, ident: str):
    """One payment of any kind (each app describes its own): who paid whom, the fee lines,
    the status, the receipt number and what can be done next. Strangers get a 404."""
    try:
        entry = request.GET.get("entry", "")
        detail = selectors.payment_detail(
            viewer=request.user,
            kind=kind,
            ident=ident,
            entry_id=int(entry) if entry.isdigit() and len(entry) < 19 else None,
        )
    except DomainError:
        raise Http404 from None
    subject = _("Problem with payment %(number)s") % {
        "number": detail.receipt_number or f"{kind} {ident}"
    }
    return render(
        request,
        "payments/wallet/payment_detail.html",
        {
            "detail": detail,
            "outgoing": detail.payer is not None and detail.payer.pk == request.user.pk,
            "report_url": f"mailto:{settings.SUPPORT_EMAIL}?{urlencode({'subject': subject})}",
        },
    )


# --- requests -------------------------------------------------------------------------------
@login_required
@idempotent_form("wallet.request")
def request_new(request):
    error = None
    if request.method == "POST":
        try:
            money_requests.request_create(
                requester=request.user,
                payer=request.POST.get("from", ""),
                money=_money(request),
                note=request.POST.get("note", ""),
                client_key=f"form:{request.POST['idempotency_key']}",
            )
            messages.success(request, _("Request sent."))
            return redirect("payments:wallet-requests")
        except DomainError as exc:
            error = exc
    return render(
        request,
        "payments/wallet/request.html",
        {"form_key": form_key(), "error": error, "posted": request.POST, **_common(request)},
        status=400 if error else 200,
    )


@login_required
@require_GET
def requests_inbox(request):
    def with_money(rows):
        return [(r, Money(r.amount, r.currency)) for r in rows]

    return render(
        request,
        "payments/wallet/requests.html",
        {
            "inbox": with_money(selectors.requests_inbox(user=request.user)[:REQUESTS_SHOWN]),
            "sent": with_money(selectors.requests_sent(user=request.user)[:REQUESTS_SHOWN]),
            "form_key": form_key(),
        },
    )


@login_required
@require_GET
def request_review(request, request_id: int):
    """Before paying a request: what it is for, the fee, the balance after, and whatever
    would stop the payment (balance, limits). The button posts to ``request_action``,
    whose payment is idempotent per request: a double submit pays once."""
    try:
        req = selectors.request_get(viewer=request.user, request_id=request_id)
    except DomainError:
        raise Http404 from None
    if req.payer_id != request.user.pk:
        raise Http404
    money = Money(req.amount, req.currency)
    if req.status != req.Status.OPEN:
        if req.transfer_id:  # already paid (from another tab): its receipt
            return redirect("payments:wallet-transfer", transfer_id=req.transfer_id)
        return redirect("payments:wallet-requests")
    available = selectors.wallet_available(user=request.user, currency=money.currency)
    after = available.amount - money.amount
    # Below zero it is said with a minus sign; the warning above says what to do about it.
    shown = Money(abs(after), money.currency).format()
    return render(
        request,
        "payments/wallet/request_review.html",
        {
            "r": req,
            "money": money,
            "fee": Money.zero(money.currency),
            "balance_note": _("Your balance after paying: %(balance)s")
            % {"balance": shown if after >= 0 else f"\u2212{shown}"},
            "warnings": selectors.send_review_warnings(user=request.user, money=money),
            "form_key": form_key(),
        },
    )


@login_required
@require_POST
@idempotent_form("wallet.request_action")
def request_action(request, request_id: int, action: str):
    fn = {
        "pay": money_requests.request_pay,
        "decline": money_requests.request_decline,
        "cancel": money_requests.request_cancel,
    }.get(action)
    if fn is None:
        raise Http404
    done = {"pay": _("Paid."), "decline": _("Declined."), "cancel": _("Cancelled.")}[action]
    kwargs = {"reauthenticated": payer_reauthenticated(request)} if action == "pay" else {}
    try:
        req = fn(user=request.user, request_id=request_id, **kwargs)
        level = "success"
    except ReauthenticationRequired:
        # A large request: prove it is you, then back to its review to pay it again.
        return stepup_redirect(
            request, back=reverse("payments:wallet-request-review", args=[request_id]), fields=()
        )
    except DomainError as exc:
        if exc.status == 404:
            raise Http404 from None
        req, done, level = None, error_message(exc), "error"
    if request.htmx and action != "cancel":
        # The request's card turns into its outcome; paying refreshes the balance line.
        # A second click finds the request paid: request_pay returns it, nothing is paid twice.
        receipt = None
        if req is not None and req.transfer_id:
            receipt = reverse("payments:wallet-transfer", args=[req.transfer_id])
        response = render(
            request,
            "payments/wallet/requests.html#request-item",
            {
                "r": req or {"pk": request_id},
                "done": done,
                "done_level": level,
                "receipt_url": receipt,
            },
        )
        if level == "success" and action == "pay":
            response["HX-Trigger"] = "balanceChanged"
        return response
    messages.add_message(request, messages.SUCCESS if level == "success" else messages.ERROR, done)
    if level == "success" and action == "pay" and req is not None and req.transfer_id:
        return redirect("payments:wallet-transfer", transfer_id=req.transfer_id)
    return redirect(reverse("payments:wallet-requests"))


# --- feed -----------------------------------------------------------------------------------
@login_required
@require_GET
def feed(request):
    try:
        before = int(request.GET["cursor"]) if request.GET.get("cursor") else None
    except ValueError:
        raise Http404 from None
    items = selectors.payment_feed(viewer=request.user, before=before)
    template = "payments/wallet/feed.html"
    if request.htmx and before is not None:
        template += "#feed-page"  # infinite scroll: the next page only
    return render(
        request,
        template,
        {
            "items": items,
            "cursor": before,
            "next_cursor": items[-1].id if len(items) == selectors.FEED_PAGE else None,
        },
    )


# --- verification ---------------------------------------------------------------------------
@login_required
def verify(request):
    """GET: the person's verification status and what it unlocks, and the form while they
    have no request pending. POST: ask for verification (staff review it in the admin)."""
    error = None
    if request.method == "POST":
        try:
            born_text = request.POST.get("date_of_birth", "").strip()
            try:
                born = date.fromisoformat(born_text) if born_text else None
            except ValueError:
                raise ValidationFailed(_("Give your date of birth as a date.")) from None
            if born is None:
                raise ValidationFailed(_("Give your date of birth as a date."))
            verification_request_create(
                user=request.user,
                legal_name=request.POST.get("legal_name", ""),
                date_of_birth=born,
                address=request.POST.get("address", ""),
                country=request.POST.get("country", ""),
            )
            messages.success(request, _("Thanks. We will review your details within two days."))
            return redirect("payments:wallet-verify")
        except DomainError as exc:
            error = exc
    limits = limits_summary(user=request.user)
    return render(
        request,
        "payments/wallet/verify.html",
        {
            "latest": selectors.verification_latest(user=request.user),
            "verified": request.user.verification_tier == request.user.VerificationTier.VERIFIED,
            "limits": limits,
            "posted": request.POST,
            "error": error,
        },
        status=400 if error else 200,
    )
