"""Webhook pages under settings: the endpoints, one endpoint with its delivery log, and the
actions (pause or resume, rotate the secret, redeliver, delete)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.error_messages import error_message
from core.exceptions import DomainError
from payments.hooks import selectors, services
from payments.hooks.forms import EVENT_LABELS, EndpointForm

DELIVERIES_SHOWN = 50


@login_required
def endpoints_page(request):
    """GET: the endpoints and the form. POST: register an endpoint."""
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            endpoint = services.endpoint_create(
                user=request.user,
                url=data["url"].strip(),
                event_types=data["event_types"],
                description=data["description"],
            )
        except DomainError as exc:
            form.add_error(None, error_message(exc))
        else:
            messages.success(request, _("Webhook endpoint added."))
            return redirect("payments:webhook", endpoint_id=endpoint.public_id)
    return render(
        request,
        "payments/hooks/endpoints.html",
        {"form": form, "endpoints": selectors.endpoints_of(user=request.user)},
    )


@login_required
def endpoint_page(request, endpoint_id: str):
    try:
        endpoint = selectors.endpoint_of(user=request.user, endpoint_id=endpoint_id)
    except DomainError as exc:
        raise Http404 from exc
    deliveries = list(selectors.deliveries_of(endpoint=endpoint)[:DELIVERIES_SHOWN])
    return render(
        request,
        "payments/hooks/endpoint.html",
        {
            "endpoint": endpoint,
            "event_labels": [EVENT_LABELS[k] for k in endpoint.event_types],
            "deliveries": deliveries,
        },
    )


@login_required
@require_POST
def endpoint_action(request, endpoint_id: str, action: str):
    user = request.user
    try:
        if action == "rotate":
            services.endpoint_secret_rotate(user=user, endpoint_id=endpoint_id)
            messages.success(
                request, _("New signing secret made; the old one signs too for a day.")
            )
        elif action in {"pause", "resume"}:
            services.endpoint_update(
                user=user, endpoint_id=endpoint_id, is_active=action == "resume"
            )
        elif action == "delete":
            services.endpoint_delete(user=user, endpoint_id=endpoint_id)
            messages.success(request, _("Webhook endpoint deleted."))
            return redirect("payments:webhooks")
        elif action == "redeliver":
            delivery_id = request.POST.get("delivery", "")[:40]
            services.delivery_redeliver(user=user, delivery_id=delivery_id)
            messages.success(request, _("The event is being sent again."))
        else:
            return redirect("payments:webhook", endpoint_id=endpoint_id)
    except DomainError as exc:
        messages.error(request, error_message(exc))
        if exc.status == 404:
            return redirect("payments:webhooks")
    return redirect("payments:webhook", endpoint_id=endpoint_id)
