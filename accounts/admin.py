"""Staff views of people. Suspending goes through the service, which writes an audit row."""

from django.contrib import admin, messages

from accounts import services
from accounts.models import AccountAuditEvent, ApiToken, User


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ["handle", "email", "display_name", "is_active", "is_staff", "date_joined"]
    list_filter = ["is_active", "is_staff"]
    search_fields = ["handle_key", "email", "display_name"]
    readonly_fields = [
        "handle",
        "handle_key",
        "handle_skeleton",
        "email",
        "date_joined",
        "last_login",
    ]
    fields = [*readonly_fields, "display_name", "bio", "link", "avatar", "is_staff"]
    actions = ["suspend", "unsuspend"]

    def has_delete_permission(self, request, obj=None):
        return False  # people are suspended, never deleted from under the ledger

    def has_add_permission(self, request):
        return False

    @admin.action(description="Suspend selected people (log out, no login, audited)")
    def suspend(self, request, queryset):
        for user in queryset:
            services.user_suspend(user=user, actor=request.user, reason="admin action")
        messages.success(request, f"Suspended {queryset.count()} account(s).")

    @admin.action(description="Unsuspend selected people (audited)")
    def unsuspend(self, request, queryset):
        for user in queryset:
            services.user_unsuspend(user=user, actor=request.user, reason="admin action")
        messages.success(request, f"Unsuspended {queryset.count()} account(s).")


@admin.register(AccountAuditEvent)
class AccountAuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "user", "actor", "action", "reason"]
    list_filter = ["action"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "user", "name", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = [
        "prefix",
        "user",
        "digest",
        "created_at",
        "last_used_at",
        "reauthenticated_at",
    ]
    fields = [*readonly_fields, "name", "revoked_at"]

    def has_add_permission(self, request):
        return False
