"""Bearer token authentication: the hand-written lookup returns exactly what the ORM would."""

from __future__ import annotations

import pytest
from django.db.models import JSONField
from django.utils import timezone

from accounts.authentication import _token_lookup
from accounts.models import ApiToken, User
from accounts.services import token_create, user_signup

pytestmark = pytest.mark.django_db


def test_the_lookup_loads_every_column_of_the_token_and_its_person():
    user = user_signup(handle="tokenfan", email="tokenfan@example.com", password="x" * 14)
    token, secret = token_create(user=user)

    found = _token_lookup(ApiToken.digest_of(secret))

    expected = ApiToken.objects.select_related("user").get(pk=token.pk)
    for field in ApiToken._meta.concrete_fields:
        assert getattr(found, field.attname) == getattr(expected, field.attname), field.name
    for field in User._meta.concrete_fields:
        assert getattr(found.user, field.attname) == getattr(expected.user, field.attname), (
            field.name
        )
    assert not found.get_deferred_fields() and not found.user.get_deferred_fields()


def test_revoked_and_unknown_tokens_are_not_found():
    user = user_signup(handle="revoked1", email="revoked1@example.com", password="x" * 14)
    token, secret = token_create(user=user)
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())

    assert _token_lookup(ApiToken.digest_of(secret)) is None
    assert _token_lookup(ApiToken.digest_of("sp_not_a_token")) is None


def test_no_column_needs_a_conversion_the_raw_lookup_would_skip():
    """Raw rows skip ``from_db_value``: a JSON (or other converted) column added to either
    model must be handled in ``_token_lookup`` before this test is changed."""
    for model in (ApiToken, User):
        converted = [
            f.name
            for f in model._meta.concrete_fields
            if hasattr(f, "from_db_value") or isinstance(f, JSONField)
        ]
        assert converted == [], (model.__name__, converted)
