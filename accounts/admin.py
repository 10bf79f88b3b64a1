"""Staff views of people and their credentials.

Nothing that opens an account can be edited in a form here: second factors, recovery
codes and API tokens are read-only (their secrets are not even shown), e-mail addresses
and the staff / superuser flags change only through actions that call a service, and
every such action writes an ``AccountAuditEvent``. A token can be revoked, never
un-revoked (the database refuses it too).
"""

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib import admin, messages

from accounts import services
from accounts.models import AccountAuditEvent, ApiToken, DataExport, User
from core.exceptions import DomainError


def _each(modeladmin, request, queryset, call, done: str) -> None:
    """Run ``call`` per row; report successes and the refusals' messages."""
    count = 0
    for row in queryset:
        try:
            call(row)
        except DomainError as exc:
            modeladmin.message_user(request, f"{row}: {exc.message}", level=messages.ERROR)
        else:
            count += 1
    if count:
        modeladmin.message_user(request, done % {"count": count}, level=messages.SUCCESS)


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = [
        "handle",
        "email",
        "display_name",
        "is_active",
        "is_staff",
        "is_superuser",
        "date_joined",
        "closed_at",
    ]
    list_filter = ["is_active", "is_staff", "is_superuser", "closed_at"]
    search_fields = ["handle_key", "email", "display_name"]
    readonly_fields = [
        "handle",
        "handle_key",
        "handle_skeleton",
        "email",
        "is_staff",
        "is_superuser",
        "date_joined",
        "last_login",
        "closed_at",
    ]
    fields = [*readonly_fields, "display_name", "bio", "link", "avatar"]
    actions = [
        "suspend",
        "unsuspend",
        "grant_staff",
        "revoke_staff",
        "grant_superuser",
        "revoke_superuser",
    ]

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

    def _flags(self, request, queryset, done: str, **flags):
        _each(
            self,
            request,
            queryset,
            lambda u: services.user_set_staff_flags(
                user=u, actor=request.user, reason="admin action", **flags
            ),
            done,
        )

    @admin.action(description="Make selected people staff (superusers only, audited)")
    def grant_staff(self, request, queryset):
        self._flags(request, queryset, "Made %(count)d account(s) staff.", is_staff=True)

    @admin.action(description="Take staff rights away (superusers only, audited)")
    def revoke_staff(self, request, queryset):
        self._flags(request, queryset, "Took staff rights from %(count)d.", is_staff=False)

    @admin.action(description="Make selected people superusers (superusers only, audited)")
    def grant_superuser(self, request, queryset):
        self._flags(request, queryset, "Made %(count)d superuser(s).", is_superuser=True)

    @admin.action(description="Take superuser rights away (superusers only, audited)")
    def revoke_superuser(self, request, queryset):
        self._flags(request, queryset, "Took superuser from %(count)d.", is_superuser=False)


@admin.register(DataExport)
class DataExportAdmin(_ReadOnly):
    """Who asked for their data and how it went; the file itself is for its owner only."""

    list_display = ["created_at", "user", "status", "progress", "size", "expires_at"]
    list_filter = ["status"]


@admin.register(AccountAuditEvent)
class AccountAuditEventAdmin(_ReadOnly):
    list_display = ["created_at", "user", "actor", "action", "reason"]
    list_filter = ["action"]


@admin.register(ApiToken)
class ApiTokenAdmin(_ReadOnly):
    list_display = [
        "prefix",
        "user",
        "name",
        "scopes",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["revoked_at"]
    # The digest is derived from the secret; it is no use to staff and stays out of view.
    fields = [
        "prefix",
        "user",
        "name",
        "scopes",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
        "reauthenticated_at",
    ]
    readonly_fields = fields
    actions = ["revoke"]

    @admin.action(description="Revoke selected tokens (audited; cannot be undone)")
    def revoke(self, request, queryset):
        _each(
            self,
            request,
            queryset,
            lambda t: services.token_revoke_by_staff(
                token=t, actor=request.user, reason="admin action"
            ),
            "Revoked %(count)d token(s).",
        )


# allauth registers editable admins for these; ours show no secret and change nothing.
for model in (EmailAddress, Authenticator):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


@admin.register(Authenticator)
class AuthenticatorAdmin(_ReadOnly):
    """Second factors and recovery codes: who has which, never the secret or the seed."""

    list_display = ["user", "type", "created_at", "last_used_at"]
    list_filter = ["type"]
    fields = ["user", "type", "created_at", "last_used_at"]
    readonly_fields = fields
    search_fields = ["user__handle_key"]


@admin.register(EmailAddress)
class EmailAddressAdmin(_ReadOnly):
    list_display = ["email", "user", "primary", "verified"]
    list_filter = ["primary", "verified"]
    search_fields = ["email", "user__handle_key"]
    fields = ["email", "user", "primary", "verified"]
    readonly_fields = fields
    actions = ["verify", "make_primary", "remove"]

    def _change(self, request, queryset, change: str, done: str):
        _each(
            self,
            request,
            queryset,
            lambda a: services.email_address_staff_change(
                address=a, actor=request.user, change=change, reason="admin action"
            ),
            done,
        )

    @admin.action(description="Mark selected addresses verified (audited)")
    def verify(self, request, queryset):
        self._change(request, queryset, "verify", "Verified %(count)d address(es).")

    @admin.action(description="Make the selected address its account's primary (audited)")
    def make_primary(self, request, queryset):
        self._change(request, queryset, "primary", "Made %(count)d address(es) primary.")

    @admin.action(description="Remove selected addresses that are not primary (audited)")
    def remove(self, request, queryset):
        self._change(request, queryset, "remove", "Removed %(count)d address(es).")
