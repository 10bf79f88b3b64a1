"""People, their credentials and the social graph between them.

- ``User``: a public ``handle`` (shown as @handle; stored in canonical form, unique after
  NFKC + casefold through ``handle_key`` and after folding look-alike characters through
  ``handle_skeleton``), a unique e-mail address and a small public profile (display name,
  bio, avatar, link). Suspending a user sets ``is_active`` false and writes an
  ``AccountAuditEvent``.
- ``ApiToken``: revocable Bearer tokens; only a SHA-256 digest of each token is stored.
  Each has a name, scopes (``read``, ``payments``, ``payouts``), an optional expiry and
  the time it was last used (written at most once a minute). ``reauthenticated_at``
  records the last password (and second factor) check made with the token, for "sudo
  mode" on money-sensitive API calls.
- ``Follow``, ``Block``, ``Mute``: directed edges between two different people.
- ``Notification``: a generic event for one recipient (kind + actor + target + JSON data),
  reused by every app, money events included.
- ``DataExport``: one request for a copy of everything about a person (``accounts.exports``):
  its progress (queued, building, ready, failed), the ZIP's name in the default storage
  and when it expires. Closing an account (``accounts.closing``) sets ``User.closed_at``
  and pseudonymises the row; the ledger keeps every row it had.

Invariants (database-enforced): ``handle_key`` and ``handle_skeleton`` unique; lower-cased
e-mail unique when not empty (an account signed up with a taken address has none); one
edge of each kind per ordered pair; no edge from a person to themself; a token's scopes
are known ones and at least one; a token's ``revoked_at`` is never cleared (a trigger);
at most one export per person is queued or building; a closed account is inactive.
"""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin, UserManager
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from accounts.handles import HANDLE_MAX_LENGTH, handle_key, handle_skeleton

BIO_MAX_LENGTH = 300


def _all_scopes() -> list[str]:
    # A callable default: a token made without naming scopes (and every token that existed
    # before scopes did) may do everything, as before.
    return ["read", "payments", "payouts"]


class SocialPayUserManager(UserManager):
    def _create_user_object(self, username, email, password, **extra_fields):
        # Django's manager calls the username field "username"; ours is "handle".
        user = self.model(handle=username, email=self.normalize_email(email), **extra_fields)
        user.password = None
        if password is not None:
            user.set_password(password)
        else:
            user.set_unusable_password()
        return user

    def _create_user(self, username, email, password, **extra_fields):
        user = self._create_user_object(username, email, password, **extra_fields)
        user.save(using=self._db)
        return user

    def create_user(self, handle=None, email=None, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(handle, email, password, **extra_fields)

    def create_superuser(self, handle=None, email=None, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(handle, email, password, **extra_fields)

    def get_by_natural_key(self, username):
        return self.get(handle_key=handle_key(username))


class User(AbstractBaseUser, PermissionsMixin):
    handle = models.CharField(max_length=HANDLE_MAX_LENGTH, unique=True)
    handle_key = models.CharField(max_length=HANDLE_MAX_LENGTH * 3, unique=True, editable=False)
    handle_skeleton = models.CharField(
        max_length=HANDLE_MAX_LENGTH * 3, unique=True, editable=False
    )
    email = models.EmailField(max_length=254)
    display_name = models.CharField(max_length=60, blank=True)
    bio = models.TextField(max_length=BIO_MAX_LENGTH, blank=True)
    avatar = models.ImageField(upload_to="avatars/%Y/%m/", blank=True)
    link = models.URLField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    # Money-side profile: identity tier (limits), freeze, home currency, payment privacy.
    class VerificationTier(models.TextChoices):
        UNVERIFIED = "unverified", _("Unverified")
        VERIFIED = "verified", _("Verified")

    class PaymentVisibility(models.TextChoices):
        PRIVATE = "private", _("Only the two of us")
        FOLLOWERS = "followers", _("Followers")
        PUBLIC = "public", _("Everyone")

    verification_tier = models.CharField(
        max_length=12, choices=VerificationTier.choices, default=VerificationTier.UNVERIFIED
    )
    # A frozen account sends nothing and takes no payouts; receiving stays possible so that
    # money owed to a person under review is not lost.
    is_frozen = models.BooleanField(default=False)
    frozen_reason = models.CharField(max_length=200, blank=True)
    home_currency = models.CharField(max_length=3, default="USD")
    payment_visibility_default = models.CharField(
        max_length=10, choices=PaymentVisibility.choices, default=PaymentVisibility.PRIVATE
    )
    # The interface language the person chose; '' follows the browser (Accept-Language).
    # Receipts and notifications are written in it too (accounts.language).
    language = models.CharField(max_length=8, blank=True, default="")
    # Raised when a credential changes (password, second factor, an e-mail change undone):
    # it is part of every session's auth hash, so every other session of the person ends
    # (accounts.services.credentials_changed).
    session_epoch = models.PositiveIntegerField(default=0)
    # Search engines may list the profile and public posts (sitemap, no ``noindex``);
    # off: the pages say ``noindex`` and the sitemap leaves them out. Pages stay public.
    search_indexing = models.BooleanField(default=True)
    # Set once, when the person closes the account (accounts.closing): the row stays, for
    # the ledger and the other side of every payment, pseudonymised and unable to log in.
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = SocialPayUserManager()

    USERNAME_FIELD = "handle"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["email"]

    class Meta:
        constraints = [
            # An account signed up with an address another account has is kept without
            # one (accounts.services.user_signup): empty addresses are not unique.
            models.UniqueConstraint(
                Lower("email"), name="accounts_user_email_ci_unique", condition=~models.Q(email="")
            ),
            models.CheckConstraint(
                condition=models.Q(home_currency__regex=r"^[A-Z]{3}$"),
                name="accounts_user_home_currency_iso",
            ),
            models.CheckConstraint(
                condition=models.Q(closed_at__isnull=True) | models.Q(is_active=False),
                name="accounts_user_closed_inactive",
            ),
        ]
        indexes = [
            # People search: prefix match on the handle key and the display name.
            models.Index(Lower("display_name"), name="accounts_user_name_lower"),
        ]

    def __str__(self) -> str:
        return f"@{self.handle}"

    def save(self, *args, **kwargs):
        # The key and skeleton are derived data, kept in step here so that the unique
        # indexes see them whichever path created the row (service, allauth, admin).
        self.handle_key = handle_key(self.handle)
        self.handle_skeleton = handle_skeleton(self.handle_key)
        super().save(*args, **kwargs)

    @property
    def name(self) -> str:
        if self.closed_at is not None:
            return str(_("a closed account"))
        return self.display_name or self.handle

    def get_username(self) -> str:
        return self.handle

    def get_session_auth_hash(self) -> str:
        return self._session_hash()

    def get_session_auth_fallback_hash(self):
        from django.conf import settings

        for fallback_secret in settings.SECRET_KEY_FALLBACKS:
            yield self._session_hash(secret=fallback_secret)

    def _session_hash(self, secret=None) -> str:
        # Django's hash covers the password only. Epoch 0 keeps exactly Django's value, so
        # sessions from before the epoch existed stay valid; a raised epoch ends them all.
        if not self.session_epoch:
            return self._get_session_auth_hash(secret=secret)
        return salted_hmac(
            "accounts.User.session_auth_hash",
            f"{self.password}:{self.session_epoch}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()


class ApiToken(models.Model):
    """A Bearer token. The plain token is shown once, at creation; we keep its digest.

    ``scopes`` say which API operations it may call (``accounts.authentication``):
    ``read`` (everything that moves no money), ``payments`` (operations that move money)
    and ``payouts`` (payouts and payout destinations). ``expires_at`` (None: never) ends
    it; ``revoked_at`` ends it for good — revocation only moves forward.
    """

    class Scope(models.TextChoices):
        READ = "read", _("Read, post and follow (no money)")
        PAYMENTS = "payments", _("Move money (pay, tip, top up, convert)")
        PAYOUTS = "payouts", _("Payouts to a bank account")

    ALL_SCOPES = (Scope.READ.value, Scope.PAYMENTS.value, Scope.PAYOUTS.value)

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8, help_text="First characters, to recognise a token.")
    name = models.CharField(max_length=100, blank=True)
    scopes = ArrayField(models.CharField(max_length=16), default=_all_scopes)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    reauthenticated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(scopes__contained_by=["read", "payments", "payouts"])
                & models.Q(scopes__len__gte=1),
                name="api_token_known_scopes",
            ),
        ]
        indexes = [
            models.Index(
                fields=["user", "-id"],
                name="api_token_user_live",
                condition=models.Q(revoked_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    def is_expired(self, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    @staticmethod
    def digest_of(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @staticmethod
    def new_secret() -> str:
        return "sp_" + secrets.token_urlsafe(32)


class _Edge(models.Model):
    """A directed relation from one person to another, at most once per ordered pair."""

    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True


class Follow(_Edge):
    follower = models.ForeignKey(User, on_delete=models.CASCADE, related_name="following_set")
    followee = models.ForeignKey(User, on_delete=models.CASCADE, related_name="follower_set")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["follower", "followee"], name="follow_once"),
            models.CheckConstraint(
                condition=~models.Q(follower=models.F("followee")), name="follow_not_self"
            ),
        ]
        indexes = [
            models.Index(fields=["followee", "-id"], name="follow_followee_newest"),
            # The "following" list pages on the follow's id, like the followers list.
            models.Index(fields=["follower", "-id"], name="follow_follower_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.follower_id} follows {self.followee_id}"


class Block(_Edge):
    blocker = models.ForeignKey(User, on_delete=models.CASCADE, related_name="blocking_set")
    blocked = models.ForeignKey(User, on_delete=models.CASCADE, related_name="blocked_by_set")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["blocker", "blocked"], name="block_once"),
            models.CheckConstraint(
                condition=~models.Q(blocker=models.F("blocked")), name="block_not_self"
            ),
        ]
        indexes = [models.Index(fields=["blocked", "blocker"], name="block_reverse")]

    def __str__(self) -> str:
        return f"{self.blocker_id} blocks {self.blocked_id}"


class Mute(_Edge):
    muter = models.ForeignKey(User, on_delete=models.CASCADE, related_name="muting_set")
    muted = models.ForeignKey(User, on_delete=models.CASCADE, related_name="muted_by_set")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["muter", "muted"], name="mute_once"),
            models.CheckConstraint(
                condition=~models.Q(muter=models.F("muted")), name="mute_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.muter_id} mutes {self.muted_id}"


class Notification(models.Model):
    """Something that happened to ``recipient``: ``actor`` did ``kind`` to ``target``.

    Generic on purpose: ``target_type``/``target_id`` name any row (``"post"``, later
    ``"transfer"``...), and ``data`` carries what the text needs (never an amount that the
    recipient may not see).
    """

    class Kind(models.TextChoices):
        FOLLOW = "follow", "follow"
        MENTION = "mention", "mention"
        REPLY = "reply", "reply"
        LIKE = "like", "like"
        REPOST = "repost", "repost"

    recipient = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    actor = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="+", null=True, blank=True
    )
    # Not a closed set: other apps add their own kinds (payment_received, tip...).
    kind = models.CharField(max_length=40)
    target_type = models.CharField(max_length=40, blank=True)
    target_id = models.BigIntegerField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["recipient", "-id"], name="notif_recipient_newest"),
            models.Index(
                fields=["recipient"],
                name="notif_recipient_unread",
                condition=models.Q(read_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.recipient_id}"


class AccountAuditEvent(models.Model):
    """Who did what to an account, and why: staff actions are never silent."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="audit_events")
    actor = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    action = models.CharField(max_length=40)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["user", "-id"], name="audit_user_newest")]

    def __str__(self) -> str:
        return f"{self.action} on {self.user_id}"


class DataExport(models.Model):
    """A copy of everything about ``user``, built by a Celery task (``accounts.exports``).

    ``file_name`` is the ZIP's name in Django's default storage once ``ready``; it is
    deleted, and the row with it, when ``expires_at`` passes (``exports_prune`` on beat).
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        BUILDING = "building", _("building")
        READY = "ready", _("ready")
        FAILED = "failed", _("failed")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="data_exports")
    status = models.CharField(max_length=10, choices=Status, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    file_name = models.CharField(max_length=200, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    failure = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # "One running export per person" is the rate limit: a second request while
            # one is queued or building is refused (accounts.exports.export_request).
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(status__in=["queued", "building"]),
                name="accounts_export_one_running",
            ),
            models.CheckConstraint(
                condition=models.Q(progress__lte=100), name="accounts_export_progress_percent"
            ),
            models.CheckConstraint(
                condition=~models.Q(status="ready")
                | (~models.Q(file_name="") & models.Q(expires_at__isnull=False)),
                name="accounts_export_ready_has_file",
            ),
        ]
        indexes = [models.Index(fields=["user", "-id"], name="export_user_newest")]

    def __str__(self) -> str:
        return f"export #{self.pk} of {self.user_id} ({self.status})"


class RetiredHandle(models.Model):
    """The handle of a closed account, kept so that nobody can take it over: a newcomer
    with it would receive the payments, links and tips meant for the person who left.

    Only a keyed digest of the handle's skeleton is stored (``accounts.closing``), not the
    handle: the closed account is pseudonymised, and the skeleton also blocks look-alikes.
    """

    digest = models.CharField(max_length=64, unique=True)
    retired_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"retired handle {self.digest[:8]}…"
