"""Receivers for other apps' signals about credentials. Each one delegates: the rules
live in ``accounts.lockout`` and ``accounts.services``.

allauth itself mails the person about each of these changes (``ACCOUNT_EMAIL_NOTIFICATIONS``;
the e-mail notices carry an undo link, see ``accounts.adapter``).
"""

from __future__ import annotations

from allauth.account import signals as account_signals
from allauth.mfa import signals as mfa_signals
from django.dispatch import receiver

from accounts import lockout, services


@receiver(mfa_signals.authentication_failed)
def count_wrong_second_factor_code(sender, request, user, **kwargs):
    """A wrong TOTP or recovery code, at login or re-authentication, is a failed login."""
    if request is not None:
        lockout.second_factor_failed(request, user)


def _credentials_changed(reason: str):
    def handler(sender, request=None, user=None, **kwargs):
        if user is not None:
            services.credentials_changed(user=user, reason=reason, request=request)

    return handler


# Every API token is revoked and every other session ends when a credential changes
# (weak=False: the handlers are closures that nothing else holds on to).
account_signals.password_changed.connect(_credentials_changed("password changed"), weak=False)
account_signals.password_set.connect(_credentials_changed("password set"), weak=False)
account_signals.password_reset.connect(_credentials_changed("password reset"), weak=False)
mfa_signals.authenticator_added.connect(_credentials_changed("second factor added"), weak=False)
mfa_signals.authenticator_removed.connect(_credentials_changed("second factor removed"), weak=False)
