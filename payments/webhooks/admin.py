"""Staff view of processor webhooks as received: read-only; reprocessing goes through the
service."""

from __future__ import annotations

from django.contrib import admin, messages

from core.admin import ReadOnlyAdmin
from core.exceptions import DomainError
from payments.webhooks.models import WebhookDelivery, WebhookEvent
from payments.webhooks.services import webhook_event_reprocess


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "processor", "type", "status", "attempts", "received_at"]
    list_filter = ["processor", "status", "type"]
    search_fields = ["event_id", "type", "account"]
    date_hierarchy = "received_at"
    exclude = ["raw_body"]
    readonly_fields = [
        "processor",
        "event_id",
        "type",
        "account",
        "livemode",
        "created_at_processor",
        "payload",
        "status",
        "attempts",
        "last_error",
        "received_at",
        "next_attempt_at",
        "processing_started_at",
        "processed_at",
    ]
    actions = ["reprocess"]

    @admin.action(description="Reprocess the selected events")
    def reprocess(self, request, queryset):
        done = 0
        for pk in queryset.values_list("pk", flat=True):
            try:
                webhook_event_reprocess(event_pk=pk)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{pk}: {exc.message}", messages.WARNING)
        self.message_user(request, f"{done} event(s) queued for processing.")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["pk", "processor", "outcome", "error_code", "received_at", "event"]
    list_filter = ["processor", "outcome", "error_code"]
    exclude = ["raw_body"]
    readonly_fields = [
        "processor",
        "headers",
        "received_at",
        "outcome",
        "error_code",
        "event",
        "body",
    ]

    @admin.display(description="raw body (first 10 kB)")
    def body(self, obj):
        return bytes(obj.raw_body[:10240]).decode("utf-8", errors="replace")
