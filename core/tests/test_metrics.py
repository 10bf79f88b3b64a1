"""/metrics: protected by a token; request, task and ledger counters; the figures read from
the database and the broker at scrape time. Real PostgreSQL and Redis."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from accounts.services import user_signup
from core.models import NightlyCheck
from core.money import Money
from ledger import services as ledger
from ledger.chart import processor_clearing_key, wallet_key

TOKEN = "metrics-test-token-0123456789"


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(client) -> dict[str, list]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    samples: dict[str, list] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample)
    return samples


def value(samples, name, **labels) -> float | None:
    for sample in samples.get(name, []):
        if all(sample.labels.get(k) == v for k, v in labels.items()):
            return sample.value
    return None


@pytest.mark.django_db
def test_metrics_is_hidden_without_the_token(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    settings.METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


@pytest.mark.django_db
def test_requests_are_counted_by_view_and_status(client, token):
    before = scrape(client)
    client.get("/livez")
    client.get("/no-such-page-for-metrics")
    after = scrape(client)

    def delta(name, **labels):
        return (value(after, name, **labels) or 0) - (value(before, name, **labels) or 0)

    assert delta("socialpay_http_requests_total", view="livez", method="GET", status="200") == 1
    assert delta("socialpay_http_requests_total", view="unresolved", status="404") == 1
    assert delta("socialpay_http_request_duration_seconds_count", view="livez") == 1


@pytest.mark.django_db(transaction=True)
def test_ledger_entries_are_counted_once_committed(client, token):
    run = uuid.uuid4().hex[:8]
    alice = user_signup(handle="metra", email="metra@example.com", password="a long passphrase 42")
    bob = user_signup(handle="metrb", email="metrb@example.com", password="a long passphrase 42")
    ledger.entry_post(
        code="test_topup",
        idempotency_key=f"metrics-topup-1-{run}",
        postings=[
            ledger.debit(processor_clearing_key("sandbox", "USD"), Money(5000, "USD")),
            ledger.credit(wallet_key(alice.pk, "USD"), Money(5000, "USD")),
        ],
    )
    before = value(scrape(client), "socialpay_ledger_entries_total", code="test_transfer") or 0
    ledger.entry_post(
        code="test_transfer",
        idempotency_key=f"metrics-transfer-1-{run}",
        postings=[
            ledger.debit(wallet_key(alice.pk, "USD"), Money(700, "USD")),
            ledger.credit(wallet_key(bob.pk, "USD"), Money(700, "USD")),
        ],
    )
    # Rolled back: not counted.
    with pytest.raises(RuntimeError), transaction.atomic():
        ledger.entry_post(
            code="test_transfer",
            idempotency_key=f"metrics-transfer-2-{run}",
            postings=[
                ledger.debit(wallet_key(alice.pk, "USD"), Money(100, "USD")),
                ledger.credit(wallet_key(bob.pk, "USD"), Money(100, "USD")),
            ],
        )
        raise RuntimeError("roll back")
    after = value(scrape(client), "socialpay_ledger_entries_total", code="test_transfer")
    assert after == before + 1


def test_celery_tasks_are_counted_and_timed_by_outcome():
    from celery import shared_task

    @shared_task(name="tests.metrics_boom")
    def boom():
        raise ValueError("boom")

    from core.tasks import ping

    def sample(name, **labels):
        return REGISTRY.get_sample_value(name, labels) or 0

    ok_before = sample("socialpay_celery_tasks_total", task="core.tasks.ping", outcome="succeeded")
    failed_before = sample(
        "socialpay_celery_tasks_total", task="tests.metrics_boom", outcome="failed"
    )
    timed_before = sample("socialpay_celery_task_duration_seconds_count", task="core.tasks.ping")
    assert ping.apply().get() == "pong"
    boom.apply()  # runs locally through the same signals as in a worker
    assert (
        sample("socialpay_celery_tasks_total", task="core.tasks.ping", outcome="succeeded")
        == ok_before + 1
    )
    assert (
        sample("socialpay_celery_tasks_total", task="tests.metrics_boom", outcome="failed")
        == failed_before + 1
    )
    assert (
        sample("socialpay_celery_task_duration_seconds_count", task="core.tasks.ping")
        == timed_before + 1
    )


@pytest.mark.django_db
def test_scrape_reads_outbox_webhooks_payouts_queues_and_nightly_checks(client, token, settings):
    from payments.wallets.models import ReceiptOutbox

    ReceiptOutbox.objects.create(payload=[], created_at=timezone.now() - timedelta(seconds=90))
    NightlyCheck.objects.create(name="ledger_verify", ok=False, findings=3)
    NightlyCheck.objects.create(
        name="reconciliation", ok=True, finished_at=timezone.now() - timedelta(days=1)
    )
    samples = scrape(client)

    assert value(samples, "socialpay_receipts_outbox_rows") >= 1
    assert value(samples, "socialpay_receipts_outbox_lag_seconds") >= 90
    assert value(samples, "socialpay_webhook_intake_lag_seconds") is not None
    assert value(samples, "socialpay_payouts_open", status="requested") is not None
    assert value(samples, "socialpay_payouts_final_last_day", status="paid") is not None
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    assert value(samples, "socialpay_celery_queue_length", queue=queue) is not None
    assert value(samples, "socialpay_nightly_check_ok", check="ledger_verify") == 0
    assert value(samples, "socialpay_nightly_check_findings", check="ledger_verify") == 3
    assert value(samples, "socialpay_nightly_check_ok", check="reconciliation") == 1
    for collector in ("broker", "heartbeats", "nightly_checks", "payments"):
        assert value(samples, "socialpay_scrape_collector_ok", collector=collector) == 1


@pytest.mark.django_db
def test_a_collector_that_fails_is_reported_and_the_rest_still_scraped(client, token, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    samples = scrape(client)
    assert value(samples, "socialpay_scrape_collector_ok", collector="broker") == 0
    assert value(samples, "socialpay_scrape_collector_ok", collector="payments") == 1
    assert value(samples, "socialpay_receipts_outbox_lag_seconds") is not None
