"""Re-authentication ("sudo mode") for money-sensitive actions.

A signed-in session is not enough to change a payout destination, an e-mail address, the
second factor, or to send a large transfer: the person must have proved again, within the
last ``ACCOUNT_REAUTHENTICATION_TIMEOUT`` seconds (300), that they hold the password or a
second factor. Pages use allauth's flow, which asks again and then replays the request;
the API uses the token's ``reauthenticated_at`` stamp, set when the token is issued and
refreshed by ``POST /api/v1/auth/reauthenticate``.

Pages::

    from accounts.reauth import reauthentication_required, ReauthenticationRequiredMixin

    @login_required
    @reauthentication_required
    def payout_destination_edit(request): ...

    class PayoutDestinationView(ReauthenticationRequiredMixin, FormView): ...

API (DRF)::

    from accounts.reauth import RecentlyAuthenticated

    class PayoutCreateApi(APIView):
        permission_classes = [IsAuthenticated, RecentlyAuthenticated]

    # or, inside a view, only for some requests (a transfer above a threshold):
    require_recent_authentication(request)

Both raise/answer 403 ``reauthentication_required`` when the proof is too old.
"""

from __future__ import annotations

from datetime import timedelta

from allauth.account import app_settings as allauth_account_settings
from allauth.account.decorators import reauthentication_required as _allauth_reauth
from allauth.account.internal.flows.reauthentication import did_recently_reauthenticate
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission

from accounts.models import ApiToken
from core.exceptions import PermissionDenied


class ReauthenticationRequired(PermissionDenied):
    code = "reauthentication_required"
    default_message = _(
        "Confirm it is you: re-authenticate (POST /api/v1/auth/reauthenticate) and retry."
    )


def reauthentication_required(view_func):
    """Page decorator: redirect to allauth's re-authentication page unless recent."""
    # app="" means "always check" in allauth's adapter (no app-level opt-out).
    return _allauth_reauth(view_func, app="")


class ReauthenticationRequiredMixin:
    """Class-based page views: every method except GET needs a recent re-authentication."""

    @method_decorator(lambda f: _allauth_reauth(f, allow_get=True, app=""))
    def dispatch(self, request, *args, **kwargs):
        return super().dispatch(request, *args, **kwargs)


def _timeout() -> timedelta:
    return timedelta(seconds=allauth_account_settings.REAUTHENTICATION_TIMEOUT)


def is_recently_authenticated(request) -> bool:
    """True when the API caller proved who they are within the re-authentication window."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    auth = getattr(request, "auth", None)
    if isinstance(auth, ApiToken):
        return (
            auth.reauthenticated_at is not None
            and timezone.now() - auth.reauthenticated_at < _timeout()
        )
    # Browser session (DRF SessionAuthentication): allauth keeps the record in the session.
    django_request = getattr(request, "_request", request)
    return did_recently_reauthenticate(django_request)


def require_recent_authentication(request) -> None:
    """Raise ``ReauthenticationRequired`` (403) unless the caller re-authenticated recently."""
    if not is_recently_authenticated(request):
        raise ReauthenticationRequired()


class RecentlyAuthenticated(BasePermission):
    """DRF permission: the request's token or session was re-authenticated recently."""

    def has_permission(self, request, view) -> bool:
        require_recent_authentication(request)
        return True
