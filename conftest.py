"""Test set-up shared by every app (the test profile itself is chosen in
``socialpay.test_settings``): a real Celery worker."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker):
    """A real Celery worker process against the test database and the real Redis broker.

    Tasks it runs see only committed data, so tests that use it are transactional
    (``@pytest.mark.django_db(transaction=True)``).
    """
    from django.conf import settings
    from django.db import connection

    env = dict(os.environ)
    db = settings.DATABASES["default"]
    env["DATABASE_URL"] = _database_url(db)
    env["CELERY_QUEUE"] = settings.CELERY_TASK_DEFAULT_QUEUE
    # The tests' own webhook handler (it counts calls), loaded by the worker only through
    # this environment: the settings name no test module.
    extra = [m for m in env.get("PAYMENTS_WEBHOOK_HANDLER_MODULES", "").split(",") if m]
    env["PAYMENTS_WEBHOOK_HANDLER_MODULES"] = ",".join([*extra, "payments.webhooks.tests.probe"])
    log_path = ROOT / ".data" / f"celery-test-{settings.CELERY_TASK_DEFAULT_QUEUE}.log"
    log_path.parent.mkdir(exist_ok=True)
    log = open(log_path, "wb")  # noqa: SIM115 - closed in the finaliser
    node = f"test-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "celery"),
            "-A",
            "socialpay",
            "worker",
            "--pool",
            "threads",
            "--concurrency",
            "4",
            "--loglevel",
            "INFO",
            "-Q",
            settings.CELERY_TASK_DEFAULT_QUEUE,
            "-n",
            node,
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    from socialpay.celery import app

    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"Celery worker exited; see {log_path}")
            # Its own node: another worker on the same broker (a run that died) is not ready.
            if app.control.ping(destination=[node], timeout=0.5):
                break
        else:
            raise RuntimeError(f"Celery worker did not answer a ping; see {log_path}")
    except BaseException:
        proc.kill()  # never leave a worker behind when the fixture fails
        raise
    connection.close()
    proc.node = node  # for tests that ping this worker by name
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def _database_url(db: dict) -> str:
    from urllib.parse import quote

    host = quote(db.get("HOST") or "", safe="")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    return f"postgres://{db.get('USER') or ''}{password}@{host}{port}/{db['NAME']}"


@pytest.fixture
def admin_user(admin_user):
    """pytest-django's superuser, with the second factor every staff member needs to reach
    the admin (accounts.admin_site)."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    TOTP.activate(admin_user, generate_totp_secret())
    return admin_user
