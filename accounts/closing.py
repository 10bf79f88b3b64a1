"""Closing an account: refuse while money is held, then pseudonymise; the ledger stays.

The ledger is append-only (its rows name wallet accounts by owner id, never by name), so
closing cannot delete the person: the ``User`` row stays, for the ledger and for the other
side of every payment, and everything that says who the person was is wiped instead. The
handle becomes ``closed-<random>`` (the old one stays taken, as a keyed digest in
``RetiredHandle``, so nobody receives payments meant for the person); name, bio, link,
avatar and e-mail are cleared;
``User.name`` reads "a closed account" to everyone; the password becomes unusable,
``is_active`` false, every session (epoch) and API token ends, second factors and e-mail
addresses go; follows, blocks, mutes, notifications and data exports are deleted.

Money first. Apps that hold money register a check (``closing_check_register``) from
their ``AppConfig.ready``: each returns the ``ClosingBlocker``s that stand in the way —
pending holds, top-ups in flight, orders in escrow, open disputes, payouts on their way,
and a remaining wallet balance. Product rule: a balance is never forfeited or paid out
behind the person's back; they pay it out (the blocker links to the payout page) and close
once it is zero. Any blocker refuses the closing with ``account_holds_money`` and nothing
written. Apps that hold other personal data register an eraser
(``closing_eraser_register``), run in the closing transaction (posts are soft-deleted,
open money requests cancelled, memberships stopped...).

Locks: the user row (``FOR UPDATE``) before the checks; a payment by the person
share-locks the same row (``payments.wallets.payer``), so none can start in between. A
payment *to* the person checks ``is_active`` without a lock: one committed in the
instant of the closing lands in the ledger as usual and shows on staff's balance reports.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass

import structlog
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from accounts.handles import handle_key
from accounts.models import AccountAuditEvent, ApiToken, Block, Follow, Mute, Notification, User
from core.exceptions import Conflict, ValidationFailed

log = structlog.get_logger(__name__)

CLOSED_HANDLE_PREFIX = "closed-"


class AccountHoldsMoney(Conflict):
    code = "account_holds_money"
    default_message = _(
        "Your account still holds money or has payments under way. Settle them, then close it."
    )


class AccountAlreadyClosed(Conflict):
    code = "account_already_closed"
    default_message = _("This account is closed.")


class ClosingConfirmationMismatch(ValidationFailed):
    code = "closing_confirmation_mismatch"
    default_message = _("Type your handle exactly as shown to confirm.")


@dataclass(frozen=True, slots=True)
class ClosingBlocker:
    """One reason the account cannot close yet: a stable ``code``, a sentence, and the
    page where the person can settle it (a path, or empty)."""

    code: str
    message: str
    url: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


ClosingCheck = Callable[..., list[ClosingBlocker]]  # (*, user) -> blockers
ClosingEraser = Callable[..., None]  # (*, user) inside the closing transaction

_CHECKS: dict[str, ClosingCheck] = {}
_ERASERS: dict[str, ClosingEraser] = {}


def closing_check_register(key: str, check: ClosingCheck) -> None:
    _CHECKS[key] = check


def closing_eraser_register(key: str, eraser: ClosingEraser) -> None:
    _ERASERS[key] = eraser


def account_close_blockers(*, user: User) -> list[ClosingBlocker]:
    """Everything that stands in the way of closing ``user``'s account now (no lock: for
    the settings page; ``account_close`` checks again under the lock)."""
    blockers: list[ClosingBlocker] = []
    for check in _CHECKS.values():
        blockers.extend(check(user=user))
    return blockers


def account_close(*, user: User, confirm_handle: str) -> User:
    """Close ``user``'s account for good. The caller made sure the person re-authenticated
    recently.

    Raises ``ClosingConfirmationMismatch`` (``confirm_handle`` is not the handle),
    ``AccountAlreadyClosed``, ``AccountHoldsMoney`` (``details["blockers"]``); nothing is
    written when it raises. Locks the user row, then whatever the erasers lock.
    """
    if handle_key(confirm_handle.strip().removeprefix("@")) != user.handle_key:
        raise ClosingConfirmationMismatch()
    avatar = ""
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.closed_at is not None:
            raise AccountAlreadyClosed()
        blockers = account_close_blockers(user=locked)
        if blockers:
            raise AccountHoldsMoney(details={"blockers": [b.as_dict() for b in blockers]})
        for eraser in _ERASERS.values():
            eraser(user=locked)
        avatar = locked.avatar.name if locked.avatar else ""
        _pseudonymise(locked)
        AccountAuditEvent.objects.create(user=locked, actor=locked, action="account_closed")
        transaction.on_commit(lambda: _files_delete(user_id=locked.pk, avatar=avatar))
    log.info("accounts.account_closed", user_id=locked.pk)
    return locked


def retired_handle_digests(skeleton: str) -> list[str]:
    """The keyed digests a retired handle with this skeleton may be stored under: the
    current ``SECRET_KEY``'s first, then each of ``SECRET_KEY_FALLBACKS`` (a rotation does
    not free the handles retired before it)."""
    return [
        salted_hmac(_RETIRED_SALT, skeleton, secret=secret, algorithm="sha256").hexdigest()
        for secret in (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS)
    ]


def handle_retired(skeleton: str) -> bool:
    """Whether a closed account held a handle with this skeleton."""
    from accounts.models import RetiredHandle

    return RetiredHandle.objects.filter(digest__in=retired_handle_digests(skeleton)).exists()


_RETIRED_SALT = "accounts.closing.retired-handle"


def _pseudonymise(user: User) -> None:
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator

    from accounts.models import DataExport, RetiredHandle

    now = timezone.now()
    # The handle stays taken (as a digest): a newcomer with it would be paid in its place.
    RetiredHandle.objects.get_or_create(
        digest=retired_handle_digests(user.handle_skeleton)[0], defaults={"retired_at": now}
    )
    user.handle = f"{CLOSED_HANDLE_PREFIX}{secrets.token_hex(6)}"
    user.email = ""
    user.display_name = ""
    user.bio = ""
    user.link = ""
    user.avatar = ""
    user.language = ""
    user.search_indexing = False
    user.is_active = False
    # Frozen too: a payment by this person that was already past authentication is
    # refused by the payer rule (payments.wallets.payer), which reads this row fresh.
    user.is_frozen = True
    user.frozen_reason = "account closed"
    user.is_staff = False
    user.is_superuser = False
    user.closed_at = now
    user.session_epoch += 1  # ends every session
    user.set_unusable_password()
    user.save()
    user.groups.clear()
    user.user_permissions.clear()
    ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=now)
    Authenticator.objects.filter(user=user).delete()
    EmailAddress.objects.filter(user=user).delete()
    Follow.objects.filter(follower=user).delete()
    Follow.objects.filter(followee=user).delete()
    Block.objects.filter(blocker=user).delete()
    Block.objects.filter(blocked=user).delete()
    Mute.objects.filter(muter=user).delete()
    Mute.objects.filter(muted=user).delete()
    Notification.objects.filter(recipient=user).delete()
    # The files go after commit (_files_delete); the rows now.
    DataExport.objects.filter(user=user).update(status=DataExport.Status.FAILED)


def _files_delete(*, user_id: int, avatar: str) -> None:
    """Storage is not transactional: delete the avatar and the export files once the
    closing is committed."""
    from accounts.models import DataExport

    if avatar:
        default_storage.delete(avatar)
    for export in DataExport.objects.filter(user_id=user_id):
        if export.file_name:
            default_storage.delete(export.file_name)
        export.delete()
