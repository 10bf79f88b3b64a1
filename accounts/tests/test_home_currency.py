"""The home currency suggested at sign-up from Accept-Language, applied by the API and the
sign-up page alike."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.home_currency import home_currency_match, home_currency_suggest
from accounts.models import User
from accounts.services import user_signup

PASSWORD = "correct horse battery staple"


@pytest.mark.parametrize(
    ("header", "currency"),
    [
        ("de-DE", "EUR"),
        ("de-DE,de;q=0.9,en;q=0.8", "EUR"),
        ("en-GB", "GBP"),
        ("en-GB,en-US;q=0.9,en;q=0.8", "GBP"),
        ("ja", "JPY"),
        ("ja-JP", "JPY"),
        ("pt-BR", "BRL"),
        ("hi", "INR"),
        ("en-IN", "INR"),
        ("de-CH", "CHF"),
        ("fr-CH", "CHF"),
        ("en-US", "USD"),
        ("en", "USD"),
        ("de_AT", "EUR"),  # underscores, as some clients send them
        ("ar-KW", "KWD"),
        # Preference order is q, then header order; q=0 means "not this one".
        ("en;q=0.5,ja", "JPY"),
        ("en-GB;q=0,de-CH;q=0.1", "CHF"),
        # Regions whose currency is not held are skipped, then the next language is tried.
        ("fr-CA", "CAD"),
        ("en-AU", "AUD"),
        ("es-MX,es;q=0.9", "EUR"),
        ("es-419", "USD"),
        # Nothing usable: the default.
        ("", "USD"),
        (None, "USD"),
        ("*", "USD"),
        ("xx-ZZ;;,", "USD"),
        ("x-klingon", "USD"),
        (";q=1,,,", "USD"),
        ("en-GB;q=abc", "USD"),
        ("a" * 5000, "USD"),
        ("zz," * 500 + "en-GB", "USD"),  # only the first tags of a huge header are read
    ],
)
def test_suggestion_table(header, currency):
    assert home_currency_suggest(header) == currency


def test_only_supported_currencies_are_suggested(settings):
    settings.SUPPORTED_CURRENCIES = ["EUR", "GBP"]
    assert home_currency_match("ja") is None
    assert home_currency_suggest("ja") == "EUR"  # USD not held: the first supported one
    assert home_currency_suggest("en-GB") == "GBP"


@pytest.mark.django_db
def test_the_signup_service_applies_the_suggestion():
    handle = f"svc{uuid.uuid4().hex[:8]}"
    user = user_signup(
        handle=handle, email=f"{handle}@example.com", password=PASSWORD, accept_language="de-CH"
    )
    assert User.objects.get(pk=user.pk).home_currency == "CHF"
    other = f"svc{uuid.uuid4().hex[:8]}"
    user = user_signup(handle=other, email=f"{other}@example.com", password=PASSWORD)
    assert User.objects.get(pk=user.pk).home_currency == "USD"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("header", "currency"),
    [("de-DE,de;q=0.9", "EUR"), ("en-GB", "GBP"), ("ja", "JPY"), ("pt-BR", "BRL"), (None, "USD")],
)
def test_api_signup_sets_the_home_currency(header, currency):
    extra = {"HTTP_ACCEPT_LANGUAGE": header} if header else {}
    response = APIClient().post(
        "/api/v1/auth/signup",
        {"handle": "newbie", "email": "newbie@example.com", "password": PASSWORD},
        format="json",
        **extra,
    )
    assert response.status_code == 201
    assert User.objects.get(handle="newbie").home_currency == currency


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("header", "currency"),
    [("hi-IN,hi;q=0.9,en;q=0.8", "INR"), ("de-CH", "CHF"), ("en-IN", "INR"), (None, "USD")],
)
def test_page_signup_sets_the_home_currency(header, currency):
    extra = {"HTTP_ACCEPT_LANGUAGE": header} if header else {}
    response = Client().post(
        "/accounts/signup/",
        {
            "username": "page_person",
            "email": "page@example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
        **extra,
    )
    assert response.status_code == 302
    assert User.objects.get(handle="page_person").home_currency == currency


@pytest.mark.django_db
def test_a_refused_signup_writes_nothing_whatever_the_header():
    response = APIClient().post(
        "/api/v1/auth/signup",
        {"handle": "x", "email": "x@example.com", "password": PASSWORD},
        format="json",
        HTTP_ACCEPT_LANGUAGE="de-DE",
    )
    assert response.status_code == 400
    assert not User.objects.exists()
