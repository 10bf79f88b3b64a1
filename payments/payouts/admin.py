"""Staff views of payouts, the dispute queue and reconciliation reports: read-only; the one
action calls a service."""

from __future__ import annotations

from django.contrib import admin

from payments.admin import ReadOnlyAdmin
from payments.models import (
    Dispute,
    Payout,
    PayoutDestination,
    PayoutEvent,
    ReconciliationDifference,
    ReconciliationReport,
)
from payments.payouts.disputes import dispute_review_done


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


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
    list_display = ["pk", "user", "status", "last4", "currency", "payouts_allowed_at"]
    list_filter = ["status"]
    search_fields = ["user__handle"]


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdmin):
    """The dispute queue: open reviews first."""

    list_display = [
        "processor_dispute_id",
        "user",
        "amount",
        "currency",
        "status",
        "funds",
        "wallet_debited",
        "shortfall",
        "needs_review",
        "created_at",
    ]
    list_filter = ["needs_review", "funds", "status", "processor"]
    search_fields = ["processor_dispute_id", "payment_id", "user__handle"]
    ordering = ["-needs_review", "-id"]
    actions = ["mark_reviewed"]

    @admin.action(description="Mark the selected disputes as reviewed")
    def mark_reviewed(self, request, queryset):
        for pk in queryset.values_list("pk", flat=True):
            dispute_review_done(dispute_id=pk, actor=request.user)
        self.message_user(request, "Marked as reviewed.")


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
