"""Every write to accounts: sign-up, profiles, tokens, the social graph, notifications,
suspension.

Services are keyword-only and raise ``DomainError`` subclasses with stable codes; they
never see a request. Graph edges are written with ``get_or_create`` / conditional deletes
on top of UNIQUE constraints, so a double click or a retry is a no-op, not an error.
"""

from __future__ import annotations

import io
import secrets
from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.base import ContentFile
from django.core.validators import EmailValidator, URLValidator
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from PIL import Image, UnidentifiedImageError

from accounts.handles import (
    HandleConfusable,
    HandleTaken,
    handle_homoglyph_skeleton,
    handle_normalize,
    handle_skeleton,
)
from accounts.home_currency import home_currency_suggest
from accounts.language import language_clean
from accounts.models import (
    BIO_MAX_LENGTH,
    AccountAuditEvent,
    ApiToken,
    Block,
    Follow,
    Mute,
    Notification,
    User,
)
from accounts.selectors import is_blocked
from core.exceptions import Conflict, DomainError, InvalidChoice, PermissionDenied, ValidationFailed
from core.text import TextInvalid, TextTooLong, text_clean  # noqa: F401 - re-exported

DISPLAY_NAME_MAX_LENGTH = 60
AVATAR_MAX_BYTES = 2 * 1024 * 1024
AVATAR_MAX_PIXELS = 4096 * 4096
AVATAR_SIZE = 400
AVATAR_FORMATS = {"PNG", "JPEG", "WEBP", "GIF"}


class EmailInvalid(ValidationFailed):
    code = "email_invalid"
    default_message = _("Enter a valid e-mail address.")


class EmailTaken(Conflict):
    code = "email_taken"
    status = 400
    default_message = _("An account with this e-mail address exists already.")


class PasswordInvalid(ValidationFailed):
    code = "password_invalid"
    default_message = _("Choose a stronger password.")


class AvatarInvalid(ValidationFailed):
    code = "avatar_invalid"
    default_message = _("Upload a PNG, JPEG, WebP or GIF image of at most 2 MB.")


class LinkInvalid(ValidationFailed):
    code = "link_invalid"
    default_message = _("Enter an http or https address.")


class CannotTargetSelf(DomainError):
    code = "cannot_target_self"
    status = 400
    default_message = _("You cannot do that to yourself.")


class Blocked(PermissionDenied):
    code = "blocked"
    default_message = _("You cannot interact with this person.")


# --- text hygiene: the one cleaner lives in ``core.text`` (re-exported for posts) -----------


# --- handles and sign-up ------------------------------------------------------------------


def handle_check(*, handle: str, exclude_user_id: int | None = None) -> str:
    """Return the canonical form of ``handle`` if someone could register it now.

    Raises ``HandleError`` (invalid, too short/long, reserved), ``HandleTaken`` or
    ``HandleConfusable``. The UNIQUE indexes on key and skeleton still decide a race.
    """
    others = User.objects.all()
    if exclude_user_id is not None:
        others = others.exclude(pk=exclude_user_id)
    try:
        key = handle_normalize(handle)
    except DomainError:
        # "alice" with a Cyrillic U+0430 is invalid; the honest reason: it imitates @alice.
        skeleton = handle_homoglyph_skeleton(handle)
        if skeleton and others.filter(handle_skeleton=skeleton).exists():
            raise HandleConfusable() from None
        raise
    if others.filter(handle_key=key).exists():
        raise HandleTaken()
    if others.filter(handle_skeleton=handle_skeleton(key)).exists():
        raise HandleConfusable()
    return key


def email_check(*, email: str, exclude_user_id: int | None = None) -> str:
    if not isinstance(email, str) or len(email) > 254 or "\x00" in email:
        raise EmailInvalid()
    email = User.objects.normalize_email(email.strip())
    try:
        EmailValidator()(email)
    except DjangoValidationError:
        raise EmailInvalid() from None
    others = User.objects.filter(email__iexact=email)
    if exclude_user_id is not None:
        others = others.exclude(pk=exclude_user_id)
    if others.exists():
        raise EmailTaken()
    return email


def user_signup(
    *,
    handle: str,
    email: str,
    password: str,
    display_name: str = "",
    accept_language: str = "",
) -> User:
    """Create a person with an unverified primary e-mail address. Their home currency is
    suggested from the browser's ``accept_language`` (``accounts.home_currency``).

    Raises the handle errors, ``EmailInvalid``/``EmailTaken``, ``PasswordInvalid``.
    """
    from allauth.account.models import EmailAddress

    handle = handle_check(handle=handle)
    email = email_check(email=email)
    display_name = text_clean(
        value=display_name,
        max_length=DISPLAY_NAME_MAX_LENGTH,
        field="display_name",
        allow_newlines=False,
    )
    if not isinstance(password, str) or "\x00" in password or len(password) > 1024:
        raise PasswordInvalid()
    candidate = User(
        handle=handle,
        email=email,
        display_name=display_name,
        home_currency=home_currency_suggest(accept_language),
    )
    try:
        password_validation.validate_password(password, user=candidate)
    except DjangoValidationError as exc:
        raise PasswordInvalid(" ".join(exc.messages), details={"errors": exc.messages}) from None
    candidate.set_password(password)
    try:
        with transaction.atomic():
            candidate.save()
            EmailAddress.objects.create(user=candidate, email=email, primary=True, verified=False)
    except IntegrityError as exc:
        _raise_unique_violation(exc)
    return candidate


def _raise_unique_violation(exc: IntegrityError) -> None:
    text = str(exc)
    if "handle_skeleton" in text:
        raise HandleConfusable() from exc
    if "handle" in text:
        raise HandleTaken() from exc
    if "email" in text:
        raise EmailTaken() from exc
    raise exc


# --- profile ------------------------------------------------------------------------------

PROFILE_FIELDS = ("display_name", "bio", "link", "language", "search_indexing")


def user_update_profile(*, user: User, **changes: Any) -> User:
    """Change the public profile (``display_name``, ``bio``, ``link``), the interface
    ``language`` ('' follows the browser) and ``search_indexing`` (may search engines list
    the profile and public posts). Unknown names raise."""
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise ValidationFailed(details={"unknown_fields": sorted(unknown)})
    if "display_name" in changes:
        user.display_name = text_clean(
            value=changes["display_name"],
            max_length=DISPLAY_NAME_MAX_LENGTH,
            field="display_name",
            allow_newlines=False,
        )
    if "bio" in changes:
        user.bio = text_clean(value=changes["bio"], max_length=BIO_MAX_LENGTH, field="bio")
    if "link" in changes:
        user.link = link_clean(link=changes["link"])
    if "language" in changes:
        user.language = language_clean(language=changes["language"])
    if "search_indexing" in changes:
        if not isinstance(changes["search_indexing"], bool):
            raise InvalidChoice(details={"field": "search_indexing", "choices": [True, False]})
        user.search_indexing = changes["search_indexing"]
    user.save(update_fields=[f for f in PROFILE_FIELDS if f in changes])
    return user


def link_clean(*, link: str) -> str:
    link = text_clean(value=link, max_length=200, field="link", allow_newlines=False)
    if not link:
        return ""
    try:
        URLValidator(schemes=["http", "https"])(link)
    except DjangoValidationError:
        raise LinkInvalid() from None
    return link


def user_set_avatar(*, user: User, upload) -> User:
    """Validate an uploaded image with Pillow and store a re-encoded square PNG.

    Re-encoding drops metadata (location in EXIF) and anything that is not pixels, so a
    file that is both an image and HTML cannot be served back as the latter.
    Raises ``AvatarInvalid``.
    """
    if upload is None or upload.size > AVATAR_MAX_BYTES:
        raise AvatarInvalid()
    data = upload.read(AVATAR_MAX_BYTES + 1)
    if len(data) > AVATAR_MAX_BYTES:
        raise AvatarInvalid()
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in AVATAR_FORMATS:
                raise AvatarInvalid()
            if probe.width * probe.height > AVATAR_MAX_PIXELS:
                raise AvatarInvalid()
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.seek(0)
            image = image.convert("RGBA")
            side = min(image.size)
            left, top = (image.width - side) // 2, (image.height - side) // 2
            image = image.crop((left, top, left + side, top + side))
            image = image.resize((AVATAR_SIZE, AVATAR_SIZE))
            out = io.BytesIO()
            image.save(out, format="PNG", optimize=True)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise AvatarInvalid() from None
    old = user.avatar.name if user.avatar else None
    user.avatar.save(f"{user.pk}-{secrets.token_hex(8)}.png", ContentFile(out.getvalue()))
    if old:
        user.avatar.storage.delete(old)
    return user


# --- tokens -------------------------------------------------------------------------------


def token_create(*, user: User, name: str = "") -> tuple[ApiToken, str]:
    """Issue a Bearer token; the plain secret is returned once and never stored."""
    secret = ApiToken.new_secret()
    now = timezone.now()
    row = ApiToken.objects.create(
        user=user,
        digest=ApiToken.digest_of(secret),
        prefix=secret[:8],
        name=name[:100],
        created_at=now,
        reauthenticated_at=now,  # it was just issued against the password (and 2FA)
    )
    return row, secret


def token_revoke(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def token_mark_reauthenticated(*, token: ApiToken) -> None:
    now = timezone.now()
    ApiToken.objects.filter(pk=token.pk).update(reauthenticated_at=now)
    token.reauthenticated_at = now


def mfa_code_verify(*, user: User, code: str) -> bool:
    """Check a TOTP code or consume a recovery code with allauth's own helpers.

    A TOTP code is accepted once per period (allauth marks it used); a recovery code once
    ever. Returns False for anything else.
    """
    from allauth.mfa.models import Authenticator

    code = "".join(str(code).split())[:64]
    for authenticator in Authenticator.objects.filter(
        user=user, type__in=[Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES]
    ).order_by("-type"):  # TOTP before recovery codes
        if authenticator.wrap().validate_code(code):
            authenticator.record_usage()
            return True
    return False


# --- the social graph -----------------------------------------------------------------------


def follow_create(*, follower: User, followee: User) -> Follow:
    """Follow ``followee``; idempotent. Raises ``CannotTargetSelf`` or ``Blocked``."""
    if follower.pk == followee.pk:
        raise CannotTargetSelf()
    if is_blocked(follower.pk, followee.pk):
        raise Blocked()
    with transaction.atomic():
        follow, created = Follow.objects.get_or_create(follower=follower, followee=followee)
        if created:
            notification_create(
                recipient=followee,
                actor=follower,
                kind=Notification.Kind.FOLLOW,
                target_type="user",
                target_id=follower.pk,
            )
    return follow


def follow_delete(*, follower: User, followee: User) -> None:
    Follow.objects.filter(follower=follower, followee=followee).delete()


def block_create(*, blocker: User, blocked: User) -> Block:
    """Block ``blocked``: both follow edges go away; idempotent."""
    if blocker.pk == blocked.pk:
        raise CannotTargetSelf()
    with transaction.atomic():
        block, _ = Block.objects.get_or_create(blocker=blocker, blocked=blocked)
        Follow.objects.filter(follower=blocker, followee=blocked).delete()
        Follow.objects.filter(follower=blocked, followee=blocker).delete()
    return block


def block_delete(*, blocker: User, blocked: User) -> None:
    Block.objects.filter(blocker=blocker, blocked=blocked).delete()


def mute_create(*, muter: User, muted: User) -> Mute:
    if muter.pk == muted.pk:
        raise CannotTargetSelf()
    mute, _ = Mute.objects.get_or_create(muter=muter, muted=muted)
    return mute


def mute_delete(*, muter: User, muted: User) -> None:
    Mute.objects.filter(muter=muter, muted=muted).delete()


# --- notifications --------------------------------------------------------------------------


def notification_create(
    *,
    recipient: User,
    kind: str,
    actor: User | None = None,
    target_type: str = "",
    target_id: int | None = None,
    data: dict | None = None,
) -> Notification | None:
    """Record a notification, unless it would be noise or abuse.

    Nothing is recorded for one's own actions, when either side blocks the other, or when
    the recipient muted the actor. Returns the row or ``None``.
    """
    if actor is not None:
        if actor.pk == recipient.pk or is_blocked(actor.pk, recipient.pk):
            return None
        if Mute.objects.filter(muter=recipient, muted=actor).exists():
            return None
    return Notification.objects.create(
        recipient=recipient,
        actor=actor,
        kind=str(kind),
        target_type=target_type,
        target_id=target_id,
        data=data or {},
    )


def notification_mark_read(*, recipient: User, up_to_id: int | None = None) -> int:
    """Mark the recipient's notifications read (all, or those with id ≤ ``up_to_id``)."""
    rows = Notification.objects.filter(recipient=recipient, read_at__isnull=True)
    if up_to_id is not None:
        rows = rows.filter(pk__lte=up_to_id)
    return rows.update(read_at=timezone.now())


# --- staff ------------------------------------------------------------------------------


def user_suspend(*, user: User, actor: User, reason: str = "") -> None:
    """Deactivate an account (sessions and tokens stop working) and audit it."""
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=False)
        AccountAuditEvent.objects.create(user=user, actor=actor, action="suspend", reason=reason)
    user.is_active = False


def user_unsuspend(*, user: User, actor: User, reason: str = "") -> None:
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=True)
        AccountAuditEvent.objects.create(user=user, actor=actor, action="unsuspend", reason=reason)
    user.is_active = True
