"""People and their credentials.

``User`` is the custom user model from the first migration: a public ``handle`` (shown as
@handle, unique after NFKC + casefold through ``handle_key``) and a unique e-mail address.
``ApiToken`` holds revocable Bearer tokens; only a SHA-256 digest of each token is stored.

Invariants (database-enforced): ``handle_key`` unique; lower-cased e-mail unique.
"""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin, UserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.handles import HANDLE_MAX_LENGTH, handle_key


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
    email = models.EmailField(max_length=254)
    display_name = models.CharField(max_length=60, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = SocialPayUserManager()

    USERNAME_FIELD = "handle"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["email"]

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return f"@{self.handle}"

    def save(self, *args, **kwargs):
        # The key is derived data, kept in step here so that the unique index sees it.
        self.handle_key = handle_key(self.handle)
        super().save(*args, **kwargs)

    @property
    def name(self) -> str:
        return self.display_name or self.handle

    def get_username(self) -> str:
        return self.handle


class ApiToken(models.Model):
    """A Bearer token. The plain token is shown once, at creation; we keep its digest."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8, help_text="First characters, to recognise a token.")
    name = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @staticmethod
    def digest_of(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @staticmethod
    def new_secret() -> str:
        return "sp_" + secrets.token_urlsafe(32)
