"""Logs: one JSON object per event with the request id and the user id, the access log in
the same form, nothing secret or card-like written, Celery's per-second chatter at DEBUG."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from datetime import timedelta

import pytest
import structlog
from django.conf import settings as django_settings
from django.http import HttpResponse
from django.test import Client
from django.urls import path

from accounts.services import user_signup
from core.logging import ChattyTaskFilter, configure_logging, redact

log = structlog.get_logger("tests.logging")


def _logs_in_request(request):
    request.user  # noqa: B018  (a view that looks at the user, as most do)
    log.info(
        "probe.event",
        password="hunter2",
        api_key="sk_live_abcdef",
        note="paid with 4242 4242 4242 4242, order 1234567812345678",
        nested={"card_number": "4000056655665556", "amount": 1050},
    )
    return HttpResponse("ok")


urlpatterns = [path("log-probe", _logs_in_request)]


@contextlib.contextmanager
def _captured():
    """What the console handler writes, also written to a buffer; yields a reader."""
    root = logging.getLogger()
    console = root.handlers[0]
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(console.formatter)
    for f in console.filters:
        handler.addFilter(f)
    root.addHandler(handler)
    try:
        yield lambda: [json.loads(x) for x in buffer.getvalue().splitlines() if x.strip()]
    finally:
        root.removeHandler(handler)


@pytest.fixture
def json_lines():
    """Logging as production configures it (JSON), written to a buffer."""
    configure_logging(level="INFO", json=True)
    try:
        with _captured() as lines:
            yield lines
    finally:
        configure_logging(level=django_settings.LOG_LEVEL, json=django_settings.LOG_JSON)


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_a_request_logs_json_with_request_and_user_id_and_no_secrets(json_lines):
    user = user_signup(handle="logger", email="logger@example.com", password="a long pass 42x")
    client = Client()
    client.force_login(user)
    response = client.get("/log-probe", HTTP_X_REQUEST_ID="req-12345678")

    assert response["X-Request-ID"] == "req-12345678"
    [event] = [line for line in json_lines() if line["event"] == "probe.event"]
    assert event["request_id"] == "req-12345678"
    assert event["user_id"] == user.pk
    assert event["level"] == "info"
    assert event["password"] == "[redacted]"
    assert event["api_key"] == "[redacted]"
    assert event["nested"] == {"card_number": "[redacted]", "amount": 1050}
    assert "4242" not in json.dumps(event)
    # 16 digits that fail the Luhn check are not a card number: kept.
    assert "1234567812345678" in event["note"]
    assert "[card number redacted]" in event["note"]


def test_redaction_covers_the_event_text_and_foreign_log_records(json_lines):
    logging.getLogger("some.library").warning("token=%s card %s", "abc", "4000 0566 5566 5556")
    [line] = [entry for entry in json_lines() if entry.get("logger") == "some.library"]
    assert "4000 0566" not in line["event"]
    assert line["level"] == "warning"
    assert redact(None, "info", {"Authorization": "Bearer x", "sessionid": "y", "code": "ok"}) == {
        "Authorization": "[redacted]",
        "sessionid": "[redacted]",
        "code": "ok",
    }


def _record(name: str, msg: str, args) -> logging.LogRecord:
    record = logging.LogRecord(name, logging.INFO, __file__, 1, msg, None, None)
    record.args = args
    return record


def test_celery_chatter_about_per_second_tasks_is_demoted_to_debug():
    chatty = ChattyTaskFilter()
    drain = _record(
        "celery.beat",
        "Scheduler: Sending due task %s (%s)",
        ("receipts-outbox-drain", "payments.receipts_outbox_drain"),
    )
    assert chatty.filter(drain) is False  # INFO logging: dropped
    assert drain.levelname == "DEBUG"
    done = _record(
        "celery.app.trace",
        "Task %(name)s[%(id)s] succeeded in %(runtime)ss: %(return_value)s",
        {"name": "payments.receipts_outbox_drain", "id": "x", "runtime": 0.01, "return_value": 0},
    )
    assert chatty.filter(done) is False
    nightly = _record(
        "celery.beat",
        "Scheduler: Sending due task %s (%s)",
        ("ledger-verify", "ledger.tasks.ledger_verify"),
    )
    assert chatty.filter(nightly) is True
    assert nightly.levelname == "INFO"


def test_celery_uses_our_logging():
    from celery.signals import setup_logging

    import socialpay.celery  # noqa: F401  (connects the receiver)

    assert setup_logging.receivers, "without a receiver Celery installs its own text format"
    assert django_settings.CELERY_WORKER_HIJACK_ROOT_LOGGER is False


def test_gunicorn_access_log_is_json_with_request_and_user_id():
    from gunicorn.config import Config

    from core.gunicorn_logging import JsonAccessLogger
    from core.logging import logging_config

    # As deploy/gunicorn.conf.py sets it up: our dictConfig, our logger class.
    cfg = Config()
    cfg.set("accesslog", "-")
    cfg.set("logconfig_dict", logging_config(level="INFO", json=True))
    configure_logging(level="INFO", json=True)
    logger = JsonAccessLogger(cfg)

    class Response:
        status_code = 201
        status = "201 Created"
        sent = 198
        headers = [("Content-Type", "application/json"), ("X-Request-ID", "req-abcdefgh")]

    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/api/v1/transfers",
        "QUERY_STRING": "token=secret-in-query",
        "REMOTE_ADDR": "10.0.0.7",
        "HTTP_USER_AGENT": "curl/8",
        "socialpay.user_id": 42,
    }
    try:
        with _captured() as json_lines:
            logger.access(Response(), None, environ, timedelta(milliseconds=12.5))
            [line] = [entry for entry in json_lines() if entry.get("event") == "http.access"]
    finally:
        configure_logging(level=django_settings.LOG_LEVEL, json=django_settings.LOG_JSON)
    assert line["request_id"] == "req-abcdefgh"
    assert line["user_id"] == 42
    assert line["status"] == 201
    assert line["path"] == "/api/v1/transfers"
    assert line["duration_ms"] == 12.5
    assert "secret-in-query" not in json.dumps(line)
