"""Staff see payouts (with their event log), the dispute queue and reconciliation reports,
read-only; the one action (mark a dispute reviewed) goes through a service."""

from __future__ import annotations

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.utils import timezone

from accounts.models import User
from core.money import Money
from payments.disputes import services as disputes
from payments.payouts import services
from payments.payouts.models import ReconciliationReport
from payments.payouts.reconciliation import reconciliation_run
from payments.payouts.tests.support import payee
from payments.processors.base import Dispute as RemoteDispute

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    admin = User.objects.create_superuser(
        handle="root", email="root@example.com", password="x" * 12
    )
    # The admin lets only staff with a second factor in (accounts.admin_site).
    TOTP.activate(admin, generate_totp_secret())
    client.force_login(admin)
    return client


def test_payouts_are_listed_with_their_events_and_cannot_be_edited(staff_client, settings):
    settings.PAYOUT_DESTINATION_HOLD_HOURS = 0
    payout = services.payout_request(
        user=payee(5000), amount=Money(1000, "USD"), method="standard", request_key="admin-k-1"
    )
    assert staff_client.get("/admin/payouts/payout/").status_code == 200
    page = staff_client.get(f"/admin/payouts/payout/{payout.pk}/change/")
    assert page.status_code == 200 and b"requested" in page.content
    assert staff_client.get("/admin/payouts/payout/add/").status_code == 403
    response = staff_client.post(f"/admin/payouts/payout/{payout.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403


def test_dispute_queue_and_review_action(staff_client):
    # A dispute on a payment nobody can be found for: queued for review.
    dispute = disputes.dispute_record(
        processor="sandbox",
        remote=RemoteDispute(
            id="dp_admin",
            charge_id=None,
            payment_id="pi_unknown",
            amount=500,
            currency="USD",
            status="needs_response",
            reason="fraudulent",
            created=timezone.now(),
        ),
    )
    assert dispute.needs_review
    page = staff_client.get("/admin/disputes/dispute/?needs_review__exact=1")
    assert page.status_code == 200 and b"dp_admin" in page.content
    staff_client.post(
        "/admin/disputes/dispute/",
        {"action": "mark_reviewed", "_selected_action": [dispute.pk]},
    )
    dispute.refresh_from_db()
    assert dispute.needs_review is False


def test_reconciliation_reports_are_read_only(staff_client):
    report = reconciliation_run(processor="sandbox")
    assert staff_client.get("/admin/payouts/reconciliationreport/").status_code == 200
    page = staff_client.get(f"/admin/payouts/reconciliationreport/{report.pk}/change/")
    assert page.status_code == 200
    assert staff_client.get("/admin/payouts/reconciliationreport/add/").status_code == 403
    assert ReconciliationReport.objects.count() == 1
