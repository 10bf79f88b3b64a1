"""Stable error codes of outgoing webhooks."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from core.exceptions import Conflict, NotFound, ValidationFailed


class WebhookUrlInvalid(ValidationFailed):
    code = "webhook_url_invalid"
    default_message = _("Enter a full http:// or https:// address for the webhook endpoint.")


class WebhookUrlForbidden(ValidationFailed):
    code = "webhook_url_forbidden"
    default_message = _(
        "That address is on a private or local network; webhooks go to public addresses only."
    )


class WebhookEventTypeUnknown(ValidationFailed):
    code = "webhook_event_type_unknown"
    default_message = _("Pick at least one event type from the list.")


class WebhookEndpointNotFound(NotFound):
    code = "webhook_endpoint_not_found"
    default_message = _("No such webhook endpoint.")


class WebhookDeliveryNotFound(NotFound):
    code = "webhook_delivery_not_found"
    default_message = _("No such webhook delivery.")


class WebhookEndpointsLimit(Conflict):
    code = "webhook_endpoints_limit"
    default_message = _("You have as many webhook endpoints as allowed; delete one first.")
