"""Every write to accounts: sign-up, profiles, tokens, the social graph, notifications,
suspension.

Services are keyword-only and raise ``DomainError`` subclasses with stable codes; they
never see a request. Graph edges are written with ``get_or_create`` / conditional deletes
on top of UNIQUE constraints, so a double click or a retry is a no-op, not an error.
"""

from __future__ import annotations

import io
import secrets
from datetime import timedelta
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
from core.exceptions import (
    Conflict,
    DomainError,
    InvalidChoice,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
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
    from accounts.closing import handle_retired

    if handle_retired(handle_skeleton(key)):
        # A closed account's handle (or a look-alike): taken, as it was; which one it was
        # is nobody's business.
        raise HandleTaken()
    return key


def email_check(
    *, email: str, exclude_user_id: int | None = None, check_unique: bool = True
) -> str:
    if not isinstance(email, str) or len(email) > 254 or "\x00" in email:
        raise EmailInvalid()
    email = User.objects.normalize_email(email.strip())
    try:
        EmailValidator()(email)
    except DjangoValidationError:
        raise EmailInvalid() from None
    if not check_unique:
        return email
    others = User.objects.filter(email__iexact=email)
    if exclude_user_id is not None:
        others = others.exclude(pk=exclude_user_id)
    if others.exists():
        raise EmailTaken()
    return email


def email_is_taken(*, email: str) -> bool:
    """True when an account has ``email`` (its own field or any of its addresses)."""
    from allauth.account.models import EmailAddress

    return (
        User.objects.filter(email__iexact=email).exists()
        or EmailAddress.objects.filter(email__iexact=email).exists()
    )


def user_signup(
    *,
    handle: str,
    email: str,
    password: str,
    display_name: str = "",
    accept_language: str = "",
    detach_taken_email: bool = False,
) -> User:
    """Create a person with an unverified primary e-mail address. Their home currency is
    suggested from the browser's ``accept_language`` (``accounts.home_currency``).

    ``detach_taken_email`` is for sign-up by people (page and API), which must not reveal
    whether an address has an account: a taken address then raises nothing; the account
    is created without an address (``email`` empty, no ``EmailAddress``) and the caller
    mails the address's owner instead (``signup_attempt_notify``). Check ``user.email``.

    Raises the handle errors, ``EmailInvalid``, ``EmailTaken`` (unless detaching),
    ``PasswordInvalid``.
    """
    from allauth.account.models import EmailAddress

    handle = handle_check(handle=handle)
    if detach_taken_email:
        email = email_check(email=email, check_unique=False)
        if email_is_taken(email=email):
            email = ""
    else:
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
            if email:
                EmailAddress.objects.create(
                    user=candidate, email=email, primary=True, verified=False
                )
    except IntegrityError as exc:
        text = str(exc)
        if not (detach_taken_email and email and "email" in text and "handle" not in text):
            _raise_unique_violation(exc)
        # Taken by a sign-up that committed a moment ago: detached like any taken one.
        candidate.pk, candidate.email = None, ""
        try:
            candidate.save(force_insert=True)
        except IntegrityError as again:
            _raise_unique_violation(again)
    return candidate


def signup_attempt_notify(*, request, email: str) -> None:
    """Tell the owner of ``email`` that someone signed up with it (allauth's "account
    already exists" mail, with the password-reset link). Sent instead of an error, so the
    sign-up answer does not reveal that the address has an account."""
    from allauth.account.adapter import get_adapter
    from allauth.account.internal.flows.password_reset import get_reset_password_url

    get_adapter(request).send_mail(
        "account/email/account_already_exists",
        email,
        {"request": request, "password_reset_url": get_reset_password_url(request), "email": email},
    )


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


class TokenScopesInvalid(ValidationFailed):
    code = "token_scopes_invalid"
    default_message = _("Choose one or more scopes: read, payments, payouts.")


class TokenExpiryInvalid(ValidationFailed):
    code = "token_expiry_invalid"
    default_message = _("A token lasts from 1 to 365 days.")


class TokenScopeNotHeld(PermissionDenied):
    code = "token_scope_missing"
    default_message = _("A token cannot create a token with scopes it does not have itself.")


TOKEN_NAME_MAX_LENGTH = 100


def token_scopes_clean(*, scopes: Any) -> list[str]:
    """Known scopes, each once, in a fixed order. Raises ``TokenScopesInvalid``."""
    if not isinstance(scopes, list | tuple) or not scopes or len(scopes) > 3:
        raise TokenScopesInvalid()
    if any(not isinstance(s, str) or s not in ApiToken.ALL_SCOPES for s in scopes):
        raise TokenScopesInvalid(details={"allowed": list(ApiToken.ALL_SCOPES)})
    return [s for s in ApiToken.ALL_SCOPES if s in scopes]


def token_create(
    *,
    user: User,
    name: str = "",
    scopes: list[str] | tuple[str, ...] | None = None,
    expires_in_days: int | None = None,
) -> tuple[ApiToken, str]:
    """Issue a Bearer token; the plain secret is returned once and never stored.

    ``scopes`` default to all three; ``expires_in_days`` (1..``API_TOKEN_MAX_DAYS``)
    defaults to ``API_TOKEN_DEFAULT_DAYS``. Raises ``TokenScopesInvalid``,
    ``TokenExpiryInvalid`` and the text errors for ``name``.
    """
    from django.conf import settings

    scopes = token_scopes_clean(scopes=list(ApiToken.ALL_SCOPES) if scopes is None else scopes)
    days = settings.API_TOKEN_DEFAULT_DAYS if expires_in_days is None else expires_in_days
    if type(days) is not int or not 1 <= days <= settings.API_TOKEN_MAX_DAYS:
        raise TokenExpiryInvalid(details={"max_days": settings.API_TOKEN_MAX_DAYS})
    name = text_clean(
        value=name or "", max_length=TOKEN_NAME_MAX_LENGTH, field="name", allow_newlines=False
    )
    secret = ApiToken.new_secret()
    now = timezone.now()
    row = ApiToken.objects.create(
        user=user,
        digest=ApiToken.digest_of(secret),
        prefix=secret[:8],
        name=name,
        scopes=scopes,
        created_at=now,
        expires_at=now + timedelta(days=days),
        reauthenticated_at=now,  # it was just issued against the password (and 2FA)
    )
    return row, secret


def token_revoke(*, token: ApiToken) -> None:
    """Revoke one token (idempotent: a revoked token stays revoked as it was)."""
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def token_revoke_for_user(*, user: User, token_id: int) -> ApiToken:
    """Revoke one of ``user``'s tokens by id. Raises ``NotFound`` for anyone else's."""
    token = ApiToken.objects.filter(pk=token_id, user=user).first()
    if token is None:
        raise NotFound(_("No such token."))
    token_revoke(token=token)
    token.refresh_from_db()
    return token


def token_revoke_all(*, user: User, reason: str, actor: User | None = None) -> int:
    """Revoke every live token of ``user`` and record why in the audit trail. Returns how
    many were revoked."""
    with transaction.atomic():
        count = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        AccountAuditEvent.objects.create(
            user=user, actor=actor or user, action="tokens_revoked", reason=f"{reason} ({count})"
        )
    return count


# --- credential events ----------------------------------------------------------------------


def credentials_changed(*, user: User, reason: str, request=None) -> int:
    """A password, a second factor or the account's e-mail changed: whoever held a token or
    a session from before must prove themselves again.

    Revokes every API token of ``user`` and raises the session epoch, which ends every
    session; when ``request`` is the person's own session, it alone is kept (they just
    proved who they are). Writes an audit event. Returns how many tokens were revoked.
    Locks the user row.
    """
    from django.contrib.auth import update_session_auth_hash

    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        locked.session_epoch += 1
        locked.save(update_fields=["session_epoch"])
        revoked = token_revoke_all(user=locked, reason=reason)
    user.session_epoch = locked.session_epoch
    current = getattr(request, "user", None)
    if current is not None and current.is_authenticated and current.pk == user.pk:
        current.session_epoch = locked.session_epoch
        update_session_auth_hash(request, current)
    return revoked


# --- undoing an e-mail change --------------------------------------------------------------

EMAIL_UNDO_SALT = "accounts.email_change_undo"
EMAIL_UNDO_MAX_AGE = timedelta(days=7)


class EmailUndoInvalid(ValidationFailed):
    code = "email_undo_invalid"
    default_message = _(
        "This link is not valid any more. Reset your password to recover the account."
    )


def email_undo_token(*, user: User, address: str) -> str:
    """A signed link token, mailed to ``address`` when it stops being the account's
    address: whoever reads that mailbox can take the account back to it."""
    from django.core import signing

    return signing.dumps({"u": user.pk, "e": address}, salt=EMAIL_UNDO_SALT, compress=True)


def email_undo_check(*, token: str) -> tuple[User, str]:
    """The person and the address a token names. Raises ``EmailUndoInvalid``."""
    from django.core import signing

    try:
        data = signing.loads(
            token, salt=EMAIL_UNDO_SALT, max_age=EMAIL_UNDO_MAX_AGE.total_seconds()
        )
        user = User.objects.get(pk=int(data["u"]))
        address = str(data["e"])
    except (signing.BadSignature, User.DoesNotExist, KeyError, TypeError, ValueError):
        raise EmailUndoInvalid() from None
    return user, address


def email_change_undo(*, token: str, request=None) -> User:
    """Give the account back to the address in ``token``: it becomes the only, verified,
    primary address; every other address is removed, every token revoked and every
    session ended (``credentials_changed``). Idempotent.

    Raises ``EmailUndoInvalid``, ``EmailTaken`` (the address belongs to someone else now).
    Locks the user row.
    """
    from allauth.account.models import EmailAddress

    user, address = email_undo_check(token=token)
    if User.objects.filter(email__iexact=address).exclude(pk=user.pk).exists():
        raise EmailTaken()
    try:
        with transaction.atomic():
            locked = User.objects.select_for_update().get(pk=user.pk)
            EmailAddress.objects.filter(user=locked).exclude(email__iexact=address).delete()
            row = EmailAddress.objects.filter(user=locked, email__iexact=address).first()
            if row is None:
                row = EmailAddress.objects.create(
                    user=locked, email=address, verified=True, primary=True
                )
            EmailAddress.objects.filter(pk=row.pk).update(verified=True, primary=True)
            locked.email = row.email
            locked.save(update_fields=["email"])
            AccountAuditEvent.objects.create(
                user=locked, actor=None, action="email_change_undone", reason=row.email
            )
    except IntegrityError as exc:
        _raise_unique_violation(exc)
    credentials_changed(user=locked, reason="e-mail change undone")
    return locked


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
    """Reactivate a suspended account. A closed account stays closed (nothing happens)."""
    with transaction.atomic():
        if not User.objects.filter(pk=user.pk, closed_at__isnull=True).update(is_active=True):
            return
        AccountAuditEvent.objects.create(user=user, actor=actor, action="unsuspend", reason=reason)
    user.is_active = True


# --- staff changes to credentials (admin actions; each one audited) ------------------------


class StaffFlagChangeRefused(PermissionDenied):
    code = "permission_denied"
    default_message = _("Only a superuser changes staff and superuser flags.")


def user_set_staff_flags(
    *,
    user: User,
    actor: User,
    is_staff: bool | None = None,
    is_superuser: bool | None = None,
    reason: str = "",
) -> User:
    """Grant or take away staff / superuser rights, audited. Only a superuser may;
    superuser implies staff. Raises ``StaffFlagChangeRefused``. Locks the user row."""
    if not actor.is_superuser:
        raise StaffFlagChangeRefused()
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        changes = []
        if is_superuser is not None and locked.is_superuser != is_superuser:
            locked.is_superuser = is_superuser
            changes.append("superuser_granted" if is_superuser else "superuser_revoked")
            if is_superuser and not locked.is_staff:
                is_staff = True
        if is_staff is not None and locked.is_staff != is_staff:
            locked.is_staff = is_staff
            changes.append("staff_granted" if is_staff else "staff_revoked")
            if not is_staff and locked.is_superuser:
                locked.is_superuser = False
                changes.append("superuser_revoked")
        if changes:
            locked.save(update_fields=["is_staff", "is_superuser"])
            for action in changes:
                AccountAuditEvent.objects.create(
                    user=locked, actor=actor, action=action, reason=reason
                )
    user.is_staff, user.is_superuser = locked.is_staff, locked.is_superuser
    return locked


def email_address_staff_change(*, address, actor: User, change: str, reason: str = "") -> None:
    """Staff change one of a person's e-mail addresses, audited: ``verify`` it, make it
    ``primary`` (verified addresses only) or ``remove`` it (not the primary one). An
    address is the key to the account (password resets go there), so nothing else in the
    admin can edit one. Raises ``ValidationFailed``, ``EmailTaken``. Locks the user row."""
    from allauth.account.models import EmailAddress

    if change not in {"verify", "primary", "remove"}:
        raise ValidationFailed(details={"change": change})
    try:
        with transaction.atomic():
            locked = User.objects.select_for_update().get(pk=address.user_id)
            row = EmailAddress.objects.select_for_update().get(pk=address.pk)
            if change == "verify":
                if not row.set_verified():
                    raise EmailTaken()
            elif change == "primary":
                if not row.verified:
                    raise ValidationFailed(_("Verify the address before making it primary."))
                row.set_as_primary()
            elif row.primary:
                raise ValidationFailed(_("The primary address cannot be removed."))
            else:
                row.delete()
            AccountAuditEvent.objects.create(
                user=locked,
                actor=actor,
                action=f"email_{change}",
                reason=f"{row.email} {reason}".strip(),
            )
    except IntegrityError as exc:
        _raise_unique_violation(exc)


def token_revoke_by_staff(*, token: ApiToken, actor: User, reason: str = "") -> bool:
    """Revoke a person's token from the admin, audited. False if it was revoked already."""
    with transaction.atomic():
        done = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if done:
            AccountAuditEvent.objects.create(
                user_id=token.user_id,
                actor=actor,
                action="token_revoked",
                reason=f"{token.prefix} {reason}".strip(),
            )
    return bool(done)
