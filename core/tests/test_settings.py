"""Settings come from the environment; each case starts a fresh interpreter so that the
settings module is really parsed with the given variables."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

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


PRINT_PROD = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({"secret": settings.SECRET_KEY, "hosts": settings.ALLOWED_HOSTS,
                  "fallbacks": settings.SECRET_KEY_FALLBACKS, "admins": settings.ADMINS}))
"""


@pytest.fixture
def dotenv(tmp_path, monkeypatch):
    """A .env file for the settings processes this test starts, named by
    SOCIALPAY_ENV_FILE: never the checkout's own, which every process started beside this
    test (other workers' servers and settings checks) would read too."""
    path = tmp_path / ".env"
    monkeypatch.setenv("SOCIALPAY_ENV_FILE", str(path))

    def write(text: str) -> None:
        path.write_text(text)

    return write


def test_production_reads_the_environment_only_never_a_dotenv(dotenv, monkeypatch):
    monkeypatch.delenv("SANDBOX_WEBHOOK_SECRET", raising=False)
    dotenv("SECRET_KEY=from-the-dotenv-file-0123456789abcdefghijklmnopqrstuv\nADMINS=x@y.z\n")
    # Development reads it...
    dev = _run(PRINT_PROD)
    assert dev.returncode == 0, dev.stderr
    assert json.loads(dev.stdout.strip().splitlines()[-1])["secret"].startswith("from-the-dotenv")
    # ...production does not: without SECRET_KEY in its environment it refuses to start.
    prod = _run(
        PRINT_PROD,
        SOCIALPAY_PROFILE="production",
        ALLOWED_HOSTS="pay.example.com",
        EMAIL_URL="smtp://mail.example.com:25",
        PAYMENTS_PROCESSOR="stripe",
    )
    assert prod.returncode != 0
    assert "SECRET_KEY" in prod.stderr
    key = secrets.token_urlsafe(50)
    prod = _production(PAYMENTS_PROCESSOR="stripe", SECRET_KEY=key)
    assert prod.returncode == 0, prod.stderr


def test_a_production_profile_set_only_in_dotenv_is_refused(dotenv):
    dotenv("SOCIALPAY_PROFILE=production\n")
    result = _run(PRINT_PROD)
    assert result.returncode != 0
    assert "production reads only the process environment" in result.stderr


def test_key_rotation_and_admins_come_from_the_environment():
    old = secrets.token_urlsafe(50)
    result = _run(PRINT_PROD, SECRET_KEY_FALLBACKS=old, ADMINS="a@example.com,b@example.com")
    assert result.returncode == 0, result.stderr
    s = json.loads(result.stdout.strip().splitlines()[-1])
    assert s["fallbacks"] == [old]
    assert s["admins"] == ["a@example.com", "b@example.com"]


def test_a_stripe_timeout_at_or_above_gunicorns_is_refused():
    result = _run(PRINT_SETTINGS, STRIPE_TIMEOUT_SECONDS="30", GUNICORN_TIMEOUT="30")
    assert result.returncode != 0
    assert "must stay below GUNICORN_TIMEOUT" in result.stderr
    result = _run(PRINT_SETTINGS, STRIPE_TIMEOUT_SECONDS="10", STRIPE_MAX_NETWORK_RETRIES="2")
    assert result.returncode != 0  # 3 tries of 10 s do not fit in 30 s
    assert _run(PRINT_SETTINGS, STRIPE_TIMEOUT_SECONDS="10").returncode == 0


def test_nightly_limits_must_fit_in_the_broker_visibility_timeout():
    result = _run(PRINT_SETTINGS, NIGHTLY_TASK_TIME_LIMIT="4000")
    assert result.returncode != 0
    assert "CELERY_BROKER_VISIBILITY_TIMEOUT must exceed" in result.stderr


def test_worker_shutdown_waits_longer_than_the_task_limit(settings):
    assert settings.CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT > settings.CELERY_TASK_TIME_LIMIT
    assert settings.CELERY_WORKER_ENABLE_SOFT_SHUTDOWN_ON_IDLE is False
    assert settings.STRIPE_TIMEOUT_SECONDS < settings.GUNICORN_TIMEOUT


def test_uploads_go_to_s3_compatible_storage_when_a_bucket_is_set():
    code = (
        "import json, django; from django.conf import settings; django.setup();"
        "print(json.dumps(settings.STORAGES['default']))"
    )
    local = json.loads(_run(code).stdout.strip().splitlines()[-1])
    assert local["BACKEND"] == "django.core.files.storage.FileSystemStorage"
    s3 = _run(code, MEDIA_S3_BUCKET="socialpay-media", MEDIA_S3_ENDPOINT_URL="https://s3.example")
    assert s3.returncode == 0, s3.stderr
    s3 = json.loads(s3.stdout.strip().splitlines()[-1])
    assert s3["BACKEND"] == "storages.backends.s3.S3Storage"
    assert s3["OPTIONS"]["bucket_name"] == "socialpay-media"
    assert s3["OPTIONS"]["endpoint_url"] == "https://s3.example"
    assert s3["OPTIONS"]["querystring_auth"] is True


def test_sentry_reports_django_and_celery_when_a_dsn_is_set():
    code = (
        "import json, django, sentry_sdk; django.setup(); o = sentry_sdk.get_client().options;"
        "print(json.dumps({'dsn': o['dsn'], 'pii': o['send_default_pii'],"
        " 'integrations': sorted(sentry_sdk.get_client().integrations)}))"
    )
    result = _run(code, SENTRY_DSN="https://public@sentry.example.invalid/1")
    assert result.returncode == 0, result.stderr
    s = json.loads(result.stdout.strip().splitlines()[-1])
    assert s["dsn"] == "https://public@sentry.example.invalid/1"
    assert s["pii"] is False
    assert {"django", "celery"} <= set(s["integrations"])
    off = _run(code)
    assert json.loads(off.stdout.strip().splitlines()[-1])["dsn"] is None
