"""allauth adapter: sign-up through the web uses the same handle rules as the API, and the
same home currency suggestion from the browser's Accept-Language; the client address comes
from the trusted-proxy setting; a notice that an address stopped being the account's goes
to that address, with a link to undo the change."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django import forms
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from accounts.home_currency import home_currency_suggest
from accounts.services import email_undo_token, handle_check
from core.client_ip import client_ip
from core.email_layout import email_site_context
from core.exceptions import DomainError


class AccountAdapter(DefaultAccountAdapter):
    def clean_username(self, username: str, shallow: bool = False) -> str:
        try:
            return handle_check(handle=username)
        except DomainError as exc:
            # The stable code travels on the form error, as in the API.
            raise forms.ValidationError(exc.message, code=exc.code) from None

    def save_user(self, request, user, form, commit=True):
        user.home_currency = home_currency_suggest(request.headers.get("Accept-Language", ""))
        return super().save_user(request, user, form, commit=commit)

    def get_client_ip(self, request) -> str:
        # allauth's rate limits key on this; the same trusted-proxy rule as everything else.
        ip = client_ip(request)
        if not ip:
            raise PermissionDenied("Unable to determine client IP address")
        return ip

    def send_mail(self, template_prefix, email, context):
        # Every account mail in the site's branded layout, named after the site (not the
        # request's host), with links that work from a mail client.
        return super().send_mail(template_prefix, email, {**email_site_context(), **context})

    def send_notification_mail(self, template_prefix, user, context=None, email=None):
        context = dict(context or {})
        # The address that is no longer the account's hears about it, with a way back: an
        # e-mail takeover (add, make primary, remove the original) is undone from there.
        old = {
            "account/email/email_changed": context.get("from_email"),
            "account/email/email_deleted": context.get("deleted_email"),
        }.get(template_prefix)
        if old:
            email = old
            path = reverse("accounts:email-undo", args=[email_undo_token(user=user, address=old)])
            context["undo_url"] = self.request.build_absolute_uri(path)
        return super().send_notification_mail(template_prefix, user, context, email=email)
