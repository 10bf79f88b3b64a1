"""The verification page: status, what verification unlocks, and the form (name, date of
birth, address, country) that sends a request to staff review; bad details are a 400 with
the reason and nothing written."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from payments.wallets.models import VerificationRequest
from payments.wallets.tests.support import person
from payments.wallets.verification import verification_approve

pytestmark = pytest.mark.django_db

DETAILS = {
    "legal_name": "Ada Lovelace",
    "date_of_birth": "1990-12-10",
    "address": "1 Example Street\nLondon",
    "country": "gb",
}


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_wallet_limits_point_to_the_verification_page():
    html = signed_in(person()).get("/wallet").content.decode()
    assert 'href="/wallet/verify"' in html


def test_sending_details_creates_one_pending_request_and_shows_under_review():
    user = person()
    client = signed_in(user)
    page = client.get("/wallet/verify").content.decode()
    assert "Not verified" in page and "Cash out to your bank account" in page
    assert 'name="date_of_birth"' in page
    response = client.post("/wallet/verify", DETAILS)
    assert response.status_code == 302
    req = VerificationRequest.objects.get(user=user)
    assert (req.legal_name, req.country, req.date_of_birth) == (
        "Ada Lovelace",
        "GB",
        date(1990, 12, 10),
    )
    assert req.address == "1 Example Street\nLondon" and req.status == "pending"
    page = client.get("/wallet/verify").content.decode()
    assert "Under review" in page and 'name="legal_name"' not in page
    assert client.post("/wallet/verify", DETAILS).status_code == 302  # the same request again
    assert VerificationRequest.objects.filter(user=user).count() == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("date_of_birth", "not a date"),
        ("date_of_birth", ""),
        ("date_of_birth", f"{date.today().year - 10}-01-01"),  # a child
        ("date_of_birth", f"{date.today().year + 1}-01-01"),  # the future
        ("legal_name", "A"),
        ("country", "Germany"),
        ("address", "x" * 301),
    ],
)
def test_bad_details_are_a_400_with_the_reason_and_nothing_written(field, value):
    user = person()
    response = signed_in(user).post("/wallet/verify", {**DETAILS, field: value})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'role="alert"' in html  # the reason, as a message
    assert (
        'value="GB"' in html or 'value="gb"' in html or field == "country"
    )  # what was typed stays
    assert not VerificationRequest.objects.filter(user=user).exists()


def test_a_verified_person_sees_the_status_and_no_form():
    user = person()
    client = signed_in(user)
    client.post("/wallet/verify", DETAILS)
    staff = person(is_staff=True)
    verification_approve(request_id=VerificationRequest.objects.get(user=user).pk, actor=staff)
    page = client.get("/wallet/verify").content.decode()
    assert "Verified" in page and 'name="legal_name"' not in page


def test_the_page_needs_login():
    assert Client().get("/wallet/verify").status_code == 302


def test_pay_and_request_forms_take_the_person_from_the_profile_link():
    client = signed_in(person())
    assert 'value="carol"' in client.get("/wallet/send?to=carol").content.decode()
    assert 'value="carol"' in client.get("/wallet/request?from=carol").content.decode()
    assert 'value="&lt;b&gt;"' in client.get("/wallet/send?to=<b>").content.decode()
