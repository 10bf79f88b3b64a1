"""Staff views of wallet money: read-only; verification decisions go through services
(audited)."""

from __future__ import annotations

from django.contrib import admin, messages

from core.admin import ReadOnlyAdmin
from core.exceptions import DomainError
from payments.wallets import verification
from payments.wallets.models import MoneyRequest, TopUp, Transfer, VerificationRequest


@admin.register(VerificationRequest)
class VerificationRequestAdmin(ReadOnlyAdmin):
    list_display = ["user", "legal_name", "country", "status", "created_at", "reviewed_by"]
    list_filter = ["status"]
    search_fields = ["user__handle", "legal_name"]
    actions = ["approve", "reject"]

    def has_change_permission(self, request, obj=None):
        return False

    def _decide(self, request, queryset, fn, label):
        done = 0
        for row in queryset.filter(status=VerificationRequest.Status.PENDING):
            try:
                fn(request_id=row.pk, actor=request.user, note=f"{label} in admin")
                done += 1
            except DomainError as exc:
                self.message_user(request, f"#{row.pk}: {exc.message}", messages.ERROR)
        self.message_user(request, f"{label}: {done} request(s).", messages.SUCCESS)

    @admin.action(description="Approve: verified tier (audited)")
    def approve(self, request, queryset):
        self._decide(request, queryset, verification.verification_approve, "Approved")

    @admin.action(description="Reject (audited)")
    def reject(self, request, queryset):
        self._decide(request, queryset, verification.verification_reject, "Rejected")


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
    list_display = ["id", "sender", "recipient", "amount", "currency", "status", "created_at"]
    list_filter = ["status", "currency", "visibility"]
    search_fields = ["sender__handle", "recipient__handle"]


@admin.register(TopUp)
class TopUpAdmin(ReadOnlyAdmin):
    list_display = ["id", "user", "amount", "currency", "status", "fee", "created_at"]
    list_filter = ["status", "currency", "processor"]
    search_fields = ["user__handle", "payment_id"]


@admin.register(MoneyRequest)
class MoneyRequestAdmin(ReadOnlyAdmin):
    list_display = ["id", "requester", "payer", "amount", "currency", "status", "created_at"]
    list_filter = ["status"]
