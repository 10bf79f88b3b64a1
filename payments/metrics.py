"""Payments' figures for Prometheus, read at scrape time (core.metrics): how far behind
the receipts outbox and the webhook intake are, and where payouts stand."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric

from core.metrics import age_seconds


def collect() -> Iterable[Metric]:
    from payments.payouts.models import Payout, PayoutStatus
    from payments.wallets.models import ReceiptOutbox
    from payments.webhooks.models import WebhookEvent

    now = timezone.now()
    outbox = ReceiptOutbox.objects.aggregate(n=Count("id"), oldest=Min("created_at"))
    yield GaugeMetricFamily(
        "socialpay_receipts_outbox_rows", "Receipt batches waiting in the outbox", outbox["n"]
    )
    yield GaugeMetricFamily(
        "socialpay_receipts_outbox_lag_seconds",
        "Age of the oldest receipt batch not yet delivered (0 when the outbox is empty)",
        age_seconds(outbox["oldest"], now),
    )

    waiting = WebhookEvent.objects.filter(
        status__in=[WebhookEvent.Status.RECEIVED, WebhookEvent.Status.PROCESSING]
    ).aggregate(n=Count("id"), oldest=Min("received_at"))
    yield GaugeMetricFamily(
        "socialpay_webhook_events_unprocessed", "Stored webhook events not yet processed",
        waiting["n"],
    )  # fmt: skip
    yield GaugeMetricFamily(
        "socialpay_webhook_intake_lag_seconds",
        "Age of the oldest stored webhook event not yet processed (0 when none waits)",
        age_seconds(waiting["oldest"], now),
    )

    # Open payouts in full (an index covers them); final ones over the last day only, so
    # the query stays small however long the history.
    open_states = [PayoutStatus.REQUESTED, PayoutStatus.SUBMITTING, PayoutStatus.PENDING]
    rows = (
        Payout.objects.filter(status__in=open_states)
        .values("status")
        .annotate(n=Count("id"), oldest=Min("updated_at"))
    )
    count = GaugeMetricFamily(
        "socialpay_payouts_open", "Payouts not yet in a final state, by status", labels=["status"]
    )
    oldest = GaugeMetricFamily(
        "socialpay_payouts_open_oldest_seconds",
        "Seconds since the least recently changed open payout changed, by status",
        labels=["status"],
    )
    found = {row["status"]: row for row in rows}
    for status in open_states:
        row = found.get(status)
        count.add_metric([status], row["n"] if row else 0)
        oldest.add_metric([status], age_seconds(row["oldest"] if row else None, now))
    yield count
    yield oldest
    final = (
        Payout.objects.filter(
            status__in=[PayoutStatus.PAID, PayoutStatus.FAILED, PayoutStatus.REVERSED],
            created_at__gte=now - timedelta(days=1),
        )
        .values("status")
        .annotate(n=Count("id"))
    )
    last_day = GaugeMetricFamily(
        "socialpay_payouts_final_last_day",
        "Payouts created in the last 24 hours that reached a final state, by status",
        labels=["status"],
    )
    found = {row["status"]: row["n"] for row in final}
    for status in (PayoutStatus.PAID, PayoutStatus.FAILED, PayoutStatus.REVERSED):
        last_day.add_metric([status], found.get(status, 0))
    yield last_day
