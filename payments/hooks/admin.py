"""Staff views of outgoing webhooks: read-only (secrets never shown)."""

from __future__ import annotations

from django.contrib import admin

from core.admin import ReadOnlyAdmin, ReadOnlyInline
from payments.hooks.models import Attempt, Delivery, Endpoint, Event


@admin.register(Endpoint)
class EndpointAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "user", "url", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["public_id", "url", "user__handle"]
    fields = ["public_id", "user", "url", "description", "event_types", "is_active", "created_at"]


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "user", "kind", "created_at", "dispatched_at"]
    list_filter = ["kind"]
    search_fields = ["public_id", "user__handle"]


class AttemptInline(ReadOnlyInline):
    model = Attempt
    fields = ["started_at", "duration_ms", "status_code", "error", "manual", "response_excerpt"]
    readonly_fields = fields


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "event", "endpoint", "status", "attempts", "next_attempt_at"]
    list_filter = ["status"]
    search_fields = ["public_id", "event__public_id"]
    inlines = [AttemptInline]
