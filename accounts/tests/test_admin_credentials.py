"""Staff cannot quietly take over accounts in the admin: second factors, recovery codes
and tokens are read-only (no secret shown), a revoked token stays revoked, e-mail
addresses and the staff flags change only through audited actions."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.test import Client
from django.utils import timezone

from accounts.models import AccountAuditEvent, ApiToken
from accounts.services import token_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_browser(make_user):
    staff = make_user()
    staff.is_staff = staff.is_superuser = True
    staff.save()
    TOTP.activate(staff, generate_totp_secret())
    client = Client()
    client.force_login(staff)
    client.staff = staff
    return client


@pytest.fixture
def victim(make_user):
    user = make_user(email="victim@example.com")
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    RecoveryCodes.activate(user)
    user.totp_secret = secret
    return user


def audit(user, action):
    return AccountAuditEvent.objects.filter(user=user, action=action)


def test_second_factors_and_recovery_codes_are_read_only_and_show_no_secret(admin_browser, victim):
    for auth in Authenticator.objects.filter(user=victim):
        url = f"/admin/mfa/authenticator/{auth.pk}/change/"
        page = admin_browser.get(url)
        assert page.status_code == 200
        assert victim.totp_secret.encode() not in page.content
        assert b'name="data"' not in page.content and b"seed" not in page.content
        before = Authenticator.objects.get(pk=auth.pk).data
        admin_browser.post(url, {"user": victim.pk, "type": auth.type, "data": "{}"})
        assert Authenticator.objects.get(pk=auth.pk).data == before
        assert (
            admin_browser.post(
                f"/admin/mfa/authenticator/{auth.pk}/delete/", {"post": "yes"}
            ).status_code
            == 403
        )
    assert admin_browser.get("/admin/mfa/authenticator/add/").status_code == 403


def test_a_token_is_read_only_and_revocation_only_moves_forward(admin_browser, victim):
    token, secret = token_create(user=victim)
    url = f"/admin/accounts/apitoken/{token.pk}/change/"
    page = admin_browser.get(url)
    assert page.status_code == 200 and token.digest.encode() not in page.content
    admin_browser.post(
        "/admin/accounts/apitoken/", {"action": "revoke", "_selected_action": [token.pk]}
    )
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert audit(victim, "token_revoked").count() == 1
    # Clearing revoked_at through the form does nothing (no change permission).
    admin_browser.post(url, {"name": token.name, "revoked_at_0": "", "revoked_at_1": ""})
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 401


def test_e_mail_addresses_change_only_through_audited_actions(admin_browser, victim):
    address = EmailAddress.objects.get(user=victim)
    url = f"/admin/account/emailaddress/{address.pk}/change/"
    assert admin_browser.get(url).status_code == 200
    admin_browser.post(url, {"email": "thief@example.com", "user": victim.pk, "verified": "on"})
    address.refresh_from_db()
    assert (address.email, address.verified) == ("victim@example.com", False)
    assert admin_browser.get("/admin/account/emailaddress/add/").status_code == 403

    other = EmailAddress.objects.create(user=victim, email="second@example.com")
    changelist = "/admin/account/emailaddress/"
    admin_browser.post(changelist, {"action": "verify", "_selected_action": [other.pk]})
    admin_browser.post(changelist, {"action": "make_primary", "_selected_action": [other.pk]})
    victim.refresh_from_db()
    assert victim.email == "second@example.com"
    admin_browser.post(changelist, {"action": "remove", "_selected_action": [address.pk]})
    assert not EmailAddress.objects.filter(pk=address.pk).exists()
    assert [e.action for e in AccountAuditEvent.objects.filter(user=victim).order_by("id")] == [
        "email_verify",
        "email_primary",
        "email_remove",
    ]
    assert all(
        e.actor_id == admin_browser.staff.pk for e in AccountAuditEvent.objects.filter(user=victim)
    )


def test_staff_flags_change_only_through_audited_actions(admin_browser, make_user):
    person = make_user()
    url = f"/admin/accounts/user/{person.pk}/change/"
    admin_browser.post(
        url,
        {"display_name": "x", "bio": "", "link": "", "is_staff": "on", "is_superuser": "on"},
    )
    person.refresh_from_db()
    assert not person.is_staff and not person.is_superuser

    changelist = "/admin/accounts/user/"
    admin_browser.post(changelist, {"action": "grant_superuser", "_selected_action": [person.pk]})
    person.refresh_from_db()
    assert person.is_staff and person.is_superuser
    admin_browser.post(changelist, {"action": "revoke_staff", "_selected_action": [person.pk]})
    person.refresh_from_db()
    assert not person.is_staff and not person.is_superuser
    assert [e.action for e in AccountAuditEvent.objects.filter(user=person).order_by("id")] == [
        "superuser_granted",
        "staff_granted",
        "staff_revoked",
        "superuser_revoked",
    ]


def test_only_a_superuser_changes_staff_flags(make_user):
    from accounts.services import StaffFlagChangeRefused, user_set_staff_flags

    staff, person = make_user(), make_user()
    staff.is_staff = True
    staff.save()
    with pytest.raises(StaffFlagChangeRefused):
        user_set_staff_flags(user=person, actor=staff, is_staff=True)
    person.refresh_from_db()
    assert not person.is_staff and not audit(person, "staff_granted").exists()


def test_the_audit_trail_is_read_only(admin_browser, make_user):
    event = AccountAuditEvent.objects.create(
        user=make_user(), actor=admin_browser.staff, action="x", created_at=timezone.now()
    )
    url = f"/admin/accounts/accountauditevent/{event.pk}/delete/"
    assert admin_browser.post(url, {"post": "yes"}).status_code == 403
    assert AccountAuditEvent.objects.filter(pk=event.pk).exists()
    assert ApiToken.objects.count() == 0
