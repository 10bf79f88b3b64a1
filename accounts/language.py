"""The interface language: a person's saved choice, else the browser's.

``User.language`` is '' (follow the browser) or one of ``settings.LANGUAGES``. Django's
``LocaleMiddleware`` picks the language of a request from the ``django_language`` cookie
(set by the language switch, also for people who are not signed in) or ``Accept-Language``;
``UserLanguageMiddleware`` then puts a signed-in person's saved choice above both.

Receipts and notifications are read by someone other than the person whose request
created them, so they are written inside ``in_language_of(recipient)``.

API requests authenticated by a Bearer token follow ``Accept-Language`` (DRF authenticates
inside the view, after the middleware); error ``code`` values never change with the
language, only the human ``message`` does.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from core.exceptions import ValidationFailed


class LanguageInvalid(ValidationFailed):
    code = "language_invalid"
    default_message = _("Choose one of the offered languages, or none to follow the browser.")


def language_codes() -> tuple[str, ...]:
    return tuple(code for code, _name in settings.LANGUAGES)


def language_clean(*, language) -> str:
    """'' or a supported language code, else ``LanguageInvalid`` (400)."""
    if language == "":
        return ""
    if not isinstance(language, str) or language not in language_codes():
        raise LanguageInvalid(details={"languages": list(language_codes())})
    return language


def language_of(user) -> str:
    """The language to write to ``user`` (a ``User`` or its id) in when no browser is
    involved: receipts, notifications, mail sent by tasks."""
    if isinstance(user, int):
        from accounts.models import User

        chosen = User.objects.filter(pk=user).values_list("language", flat=True).first()
    else:
        chosen = getattr(user, "language", "")
    return chosen if chosen in language_codes() else settings.LANGUAGE_CODE


def in_language_of(user):
    """``with in_language_of(recipient): ...`` renders translated text (and money, dates)
    for the recipient rather than for whoever's request or task is running."""
    return translation.override(language_of(user))


class UserLanguageMiddleware:
    """Activate a signed-in person's saved language (must follow ``LocaleMiddleware`` and
    ``AuthenticationMiddleware``). Without a saved choice ``LocaleMiddleware``'s pick of
    cookie or ``Accept-Language`` stands; its response hook then sets ``Content-Language``
    from whatever is active."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        chosen = getattr(user, "language", "") if user is not None else ""
        if chosen and user.is_authenticated and chosen in language_codes():
            translation.activate(chosen)
            request.LANGUAGE_CODE = chosen
        return self.get_response(request)
