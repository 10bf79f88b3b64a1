"""What every e-mail's layout (templates/emails/layout.html) says about the site.

E-mails are written by workers as well as by requests, so links start from ``SITE_URL``
and the name is ``SITE_NAME`` — never the host a request happened to come in on (which
made allauth's mails say "Hello from 127.0.0.1:8811")."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings


def email_site_context() -> dict[str, str]:
    return {
        "site_name": settings.SITE_NAME,
        "site_url": settings.SITE_URL,
        "site_host": urlsplit(settings.SITE_URL).netloc,
    }
