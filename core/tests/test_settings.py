"""Settings come from the environment; each case starts a fresh interpreter so that the
settings module is really parsed with the given variables."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PRINT_SETTINGS = """
import json, django
from django.conf import settings
django.setup()
db = settings.DATABASES["default"]
print(json.dumps({
    "db": [db["NAME"], db["HOST"], str(db["PORT"]), db["USER"],
           db["ATOMIC_REQUESTS"], db["CONN_MAX_AGE"]],
    "redis": settings.REDIS_URL, "broker": settings.CELERY_BROKER_URL,
    "hosts": settings.ALLOWED_HOSTS, "debug": settings.DEBUG,
    "processor": settings.PAYMENTS_PROCESSOR,
    "email_backend": settings.MAILERS["default"]["BACKEND"],
    "email_host": settings.MAILERS["default"]["OPTIONS"].get("host"), "profile": settings.PROFILE,
    "acks_late": settings.CELERY_TASK_ACKS_LATE, "serializer": settings.CELERY_TASK_SERIALIZER,
}))
"""


def _run(code: str, **env_overrides: str) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DATABASE_URL",
            "REDIS_URL",
            "SECRET_KEY",
            "ALLOWED_HOSTS",
            "PAYMENTS_PROCESSOR",
            "EMAIL_URL",
            "SOCIALPAY_PROFILE",
            "DEBUG",
            "CELERY_BROKER_URL",
        }
    }
    env.update(env_overrides)
    env["DJANGO_SETTINGS_MODULE"] = "socialpay.settings"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        # Against a hang only: beside the other test processes on two cores, a fresh
        # interpreter that sets Django up can take well over a minute.
        timeout=300,
    )


def _settings(**env) -> dict:
    result = _run(PRINT_SETTINGS, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_environment_variables_reach_the_settings():
    s = _settings(
        DATABASE_URL="postgres://payuser:secret@db.internal:6543/socialpay_prod",
        REDIS_URL="redis://cache.internal:6380/2",
        ALLOWED_HOSTS="pay.example.com,api.example.com",
        PAYMENTS_PROCESSOR="stripe",
        EMAIL_URL="smtp+tls://mailer:pw@smtp.example.com:587",
        DEBUG="false",
    )
    assert s["db"] == ["socialpay_prod", "db.internal", "6543", "payuser", False, 60]
    assert s["redis"] == "redis://cache.internal:6380/2"
    assert s["broker"] == "redis://cache.internal:6380/2"
    assert s["hosts"] == ["pay.example.com", "api.example.com"]
    assert s["debug"] is False
    assert s["processor"] == "stripe"
    assert s["email_backend"] == "django.core.mail.backends.smtp.EmailBackend"
    assert s["email_host"] == "smtp.example.com"
    assert s["acks_late"] is True
    assert s["serializer"] == "json"


def test_defaults_are_development_with_sandbox_processor_and_console_mail():
    s = _settings()
    assert s["profile"] == "development"
    assert s["debug"] is True
    assert s["processor"] == "sandbox"
    assert s["email_backend"] == "django.core.mail.backends.console.EmailBackend"


def test_unix_socket_database_host_is_unquoted():
    s = _settings(DATABASE_URL="postgres://postgres@%2Fvar%2Frun%2Fpostgresql/socialpay")
    assert s["db"][1] == "/var/run/postgresql"


def test_unknown_processor_is_refused_at_start():
    result = _run(PRINT_SETTINGS, PAYMENTS_PROCESSOR="paypal-ish")
    assert result.returncode != 0
    assert "PAYMENTS_PROCESSOR must be sandbox or stripe" in result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    result = _run(PRINT_SETTINGS, SOCIALPAY_PROFILE="production", ALLOWED_HOSTS="pay.example.com")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def _production(**env: str) -> subprocess.CompletedProcess:
    base = {
        "SOCIALPAY_PROFILE": "production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "pay.example.com",
        "EMAIL_URL": "smtp+tls://mailer:pw@smtp.example.com:587",
        "DEBUG": "false",
    }
    return _run(PRINT_SETTINGS, **{**base, **env})


def test_production_refuses_the_sandbox_with_its_public_webhook_secret(monkeypatch):
    monkeypatch.delenv("SANDBOX_WEBHOOK_SECRET", raising=False)
    for env in ({}, {"PAYMENTS_PROCESSOR": "sandbox"}):
        result = _production(**env)
        assert result.returncode != 0
        assert "needs its own SANDBOX_WEBHOOK_SECRET" in result.stderr
    result = _production(
        PAYMENTS_PROCESSOR="sandbox", SANDBOX_WEBHOOK_SECRET="whsec_sandbox_local_only"
    )
    assert result.returncode != 0 and "SANDBOX_WEBHOOK_SECRET" in result.stderr


def test_production_starts_with_the_sandbox_and_its_own_secret_or_with_stripe(monkeypatch):
    monkeypatch.delenv("SANDBOX_WEBHOOK_SECRET", raising=False)
    own = _production(PAYMENTS_PROCESSOR="sandbox", SANDBOX_WEBHOOK_SECRET=secrets.token_hex(16))
    assert own.returncode == 0, own.stderr
    assert json.loads(own.stdout.strip().splitlines()[-1])["processor"] == "sandbox"
    stripe = _production(PAYMENTS_PROCESSOR="stripe")
    assert stripe.returncode == 0, stripe.stderr
    # Outside production the development default stays usable.
    assert _settings()["processor"] == "sandbox"


def test_production_profile_passes_check_deploy_without_warnings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
            "DJANGO_SETTINGS_MODULE": "socialpay.settings",
            "SOCIALPAY_PROFILE": "production",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "EMAIL_URL": "smtp+tls://mailer:pw@smtp.example.com:587",
            "ALLOWED_HOSTS": "pay.example.com",
            "DEBUG": "false",
            "PAYMENTS_PROCESSOR": "sandbox",
            "SANDBOX_WEBHOOK_SECRET": secrets.token_urlsafe(32),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_suite_runs_under_the_test_profile_with_a_private_queue(settings):
    assert settings.PROFILE == "test"
    assert settings.CELERY_TASK_DEFAULT_QUEUE.startswith("test-")
    assert settings.PASSWORD_HASHERS == ["django.contrib.auth.hashers.MD5PasswordHasher"]
