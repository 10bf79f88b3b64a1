"""Read-only admin for the ledger. The only action is a reversal through the service,
which records the staff user in an ``AuditEvent``."""

from __future__ import annotations

from django.contrib import admin, messages

from core.admin import ReadOnlyAdmin, ReadOnlyInline
from core.exceptions import DomainError
from ledger import services
from ledger.models import Account, AuditEvent, Entry, Hold, HoldLeg, Posting

LEG_FIELDS = ("account", "direction", "amount", "currency")


class _LegInline(ReadOnlyInline):
    """The legs of an entry or a hold."""

    fields = LEG_FIELDS
    readonly_fields = LEG_FIELDS


class PostingInline(_LegInline):
    model = Posting


class HoldLegInline(_LegInline):
    model = HoldLeg


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["key", "kind", "currency", "no_overdraft", "owner_id", "balance", "pending_out"]
    list_filter = ["kind", "currency", "no_overdraft"]
    search_fields = ["key", "=owner_id"]
    readonly_fields = [f.name for f in Account._meta.fields]


@admin.action(
    description="Reverse the selected entries (books a reversing entry)", permissions=["reverse"]
)
def reverse_entries(modeladmin, request, queryset):
    done = 0
    for entry in queryset.order_by("id"):
        try:
            services.entry_reverse(
                entry=entry,
                idempotency_key=f"admin-reversal:{entry.pk}",
                actor_id=request.user.pk,
                reason="admin action",
            )
            done += 1
        except DomainError as exc:
            modeladmin.message_user(
                request, f"Entry #{entry.pk}: {exc.message} ({exc.code})", messages.ERROR
            )
    if done:
        modeladmin.message_user(request, f"Reversed {done} entr{'y' if done == 1 else 'ies'}.")


@admin.register(Entry)
class EntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "code", "reference", "idempotency_key", "reverses", "created_at"]
    list_filter = ["code"]
    search_fields = ["=id", "idempotency_key", "reference", "code"]
    readonly_fields = [f.name for f in Entry._meta.fields]
    inlines = [PostingInline]
    actions = [reverse_entries]
    date_hierarchy = "created_at"

    def has_reverse_permission(self, request):
        return request.user.has_perm("ledger.reverse_entry")


@admin.register(Posting)
class PostingAdmin(ReadOnlyAdmin):
    list_display = ["id", "entry", "account", "direction", "amount", "currency"]
    list_filter = ["direction", "currency"]
    search_fields = ["=entry__id", "account__key"]
    list_select_related = ["entry", "account"]
    readonly_fields = [f.name for f in Posting._meta.fields]


@admin.register(Hold)
class HoldAdmin(ReadOnlyAdmin):
    list_display = ["id", "code", "reference", "status", "created_at", "resolved_at"]
    list_filter = ["status", "code"]
    search_fields = ["=id", "idempotency_key", "reference"]
    readonly_fields = [f.name for f in Hold._meta.fields]
    inlines = [HoldLegInline]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "action", "actor_id", "entry", "created_at"]
    list_filter = ["action"]
    search_fields = ["=actor_id", "=entry__id"]
    readonly_fields = [f.name for f in AuditEvent._meta.fields]
