"""Staff views of payouts and reconciliation reports: read-only."""

from __future__ import annotations

from django.contrib import admin

from core.admin import ReadOnlyAdmin, ReadOnlyInline
from payments.payouts.models import (
    Payout,
    PayoutDestination,
    PayoutEvent,
    ReconciliationDifference,
    ReconciliationReport,
)


class PayoutEventInline(ReadOnlyInline):
    model = PayoutEvent
    fields = ["created_at", "from_status", "to_status", "accepted", "source", "detail"]
    readonly_fields = fields


@admin.register(Payout)
class PayoutAdmin(ReadOnlyAdmin):
    list_display = [
        "pk",
        "user",
        "amount",
        "fee",
        "currency",
        "method",
        "status",
        "ledger_status",
        "attempts",
        "created_at",
        "updated_at",
    ]
    list_filter = ["status", "method", "currency", "processor"]
    search_fields = ["=pk", "processor_payout_id", "user__handle"]
    inlines = [PayoutEventInline]


@admin.register(PayoutDestination)
class PayoutDestinationAdmin(ReadOnlyAdmin):
    list_display = [
        "pk",
        "user",
        "status",
        "kind",
        "country",
        "last4",
        "currency",
        "instant_available",
        "payouts_allowed_at",
    ]
    list_filter = ["status", "country", "currency"]
    search_fields = ["user__handle"]


class DifferenceInline(ReadOnlyInline):
    model = ReconciliationDifference
    fields = ["kind", "source", "currency", "processor_amount", "ledger_amount"]
    readonly_fields = fields


@admin.register(ReconciliationReport)
class ReconciliationReportAdmin(ReadOnlyAdmin):
    list_display = [
        "pk",
        "processor",
        "window_start",
        "window_end",
        "processor_rows",
        "ledger_rows",
        "difference_count",
        "created_at",
    ]
    list_filter = ["processor"]
    inlines = [DifferenceInline]
