from django.contrib import admin, messages

from core.exceptions import DomainError
from payments.models import WebhookDelivery, WebhookEvent
from payments.webhooks.services import webhook_event_reprocess


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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


# --- wallet ---------------------------------------------------------------------------------
from payments.models import MoneyRequest, TopUp, Transfer, VerificationRequest  # noqa: E402
from payments.wallets import verification  # noqa: E402


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


# FX, payouts, disputes and reconciliation register their own admin classes.
from payments.fx import admin as _fx_admin  # noqa: E402, F401
from payments.payouts import admin as _payouts_admin  # noqa: E402, F401
