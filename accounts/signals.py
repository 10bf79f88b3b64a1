"""Receivers for other apps' signals about credentials. Each one delegates: the rules
live in ``accounts.lockout`` and ``accounts.services``."""

from __future__ import annotations

from allauth.mfa import signals as mfa_signals
from django.dispatch import receiver

from accounts import lockout


@receiver(mfa_signals.authentication_failed)
def count_wrong_second_factor_code(sender, request, user, **kwargs):
    """A wrong TOTP or recovery code, at login or re-authentication, is a failed login."""
    if request is not None:
        lockout.second_factor_failed(request, user)
