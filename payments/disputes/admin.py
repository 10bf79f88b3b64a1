"""Staff view of the dispute queue: read-only; the one action calls a service."""

from __future__ import annotations

from django.contrib import admin

from core.admin import ReadOnlyAdmin
from payments.disputes.models import Dispute
from payments.disputes.services import dispute_review_done


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
