"""The admin shows the ledger read-only; reversal is an audited action through the service."""

from __future__ import annotations

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth.models import Permission
from django.urls import reverse

from core.money import Money
from ledger import chart
from ledger.models import Account, AuditEvent, Entry, Posting
from ledger.services import credit, debit, entry_post
from ledger.tests.conftest import new_key, top_up

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(django_user_model):
    user = django_user_model.objects.create_user(
        handle="auditor", email="auditor@example.com", password="correct-horse-battery"
    )
    TOTP.activate(user, generate_totp_secret())  # staff reach the admin with a second factor
    return user


@pytest.fixture
def superuser_client(client, django_user_model):
    user = django_user_model.objects.create_user(
        handle="root", email="root@example.com", password="correct-horse-battery"
    )
    user.is_staff = user.is_superuser = True
    user.save()
    # The admin lets only staff with a second factor in (accounts.admin_site).
    TOTP.activate(user, generate_totp_secret())
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def entry():
    top_up(1, 1000)
    return entry_post(
        code="transfer",
        idempotency_key=new_key(),
        postings=[
            debit(chart.wallet_key(1, "USD"), Money(400, "USD")),
            credit(chart.wallet_key(2, "USD"), Money(400, "USD")),
        ],
        reference="transfer:77",
    )


@pytest.mark.parametrize("model", ["account", "entry", "posting", "hold", "auditevent"])
def test_lists_and_search_are_visible(superuser_client, entry, model):
    url = reverse(f"admin:ledger_{model}_changelist")
    assert superuser_client.get(url).status_code == 200
    assert superuser_client.get(url, {"q": "transfer:77"}).status_code == 200


def test_rows_are_read_only_and_cannot_be_deleted(superuser_client, entry):
    change = superuser_client.get(reverse("admin:ledger_entry_change", args=[entry.pk]))
    assert change.status_code == 200
    assert b'name="code"' not in change.content  # shown, not editable
    assert b"transfer:77" in change.content
    for model, pk in (
        ("entry", entry.pk),
        ("posting", Posting.objects.first().pk),
        ("account", Account.objects.first().pk),
    ):
        url = reverse(f"admin:ledger_{model}_delete", args=[pk])
        assert superuser_client.post(url, {"post": "yes"}).status_code == 403
    assert superuser_client.get(reverse("admin:ledger_entry_add")).status_code == 403
    assert Entry.objects.filter(pk=entry.pk).exists()


def test_reversal_action_calls_the_service_and_records_the_staff_user(superuser_client, entry):
    url = reverse("admin:ledger_entry_changelist")
    response = superuser_client.post(
        url, {"action": "reverse_entries", "_selected_action": [entry.pk]}, follow=True
    )
    assert response.status_code == 200
    reversal = Entry.objects.get(reverses=entry)
    event = AuditEvent.objects.get(entry=reversal)
    assert event.actor_id == superuser_client.user.pk
    # Running the action again does not reverse twice.
    superuser_client.post(url, {"action": "reverse_entries", "_selected_action": [entry.pk]})
    assert Entry.objects.filter(reverses=entry).count() == 1


def test_reversal_action_needs_its_permission(client, staff, entry):
    staff.is_staff = True
    staff.save()
    staff.user_permissions.add(Permission.objects.get(codename="view_entry"))
    client.force_login(staff)
    url = reverse("admin:ledger_entry_changelist")
    page = client.get(url)
    assert page.status_code == 200
    assert b"reverse_entries" not in page.content
    client.post(url, {"action": "reverse_entries", "_selected_action": [entry.pk]})
    assert not Entry.objects.filter(reverses=entry).exists()
    staff.user_permissions.add(Permission.objects.get(codename="reverse_entry"))
    assert b"reverse_entries" in client.get(url).content
