"""The API idempotency contract, end to end through DRF, on the real database and Redis."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User
from core.idempotency import fingerprint, idempotency_purge
from core.models import IdempotencyRecord
from core.tests.idempotency_views import redis_client

pytestmark = pytest.mark.urls("core.tests.idempotency_views")


@pytest.fixture
def counter():
    name = f"test:idem:{uuid.uuid4().hex}"
    yield name
    redis_client().delete(name)


def runs(counter: str) -> int:
    return int(redis_client().get(counter) or 0)


@pytest.fixture
def payer(db):
    return User.objects.create_user(handle="payer", email="payer@example.com", password="x" * 12)


@pytest.fixture
def api(payer):
    client = APIClient()
    client.force_authenticate(payer)
    return client


def pay(api, counter, key, body=None, **headers):
    extra = {"HTTP_X_COUNTER": counter}
    if key is not None:
        extra["HTTP_IDEMPOTENCY_KEY"] = key
    extra.update(headers)
    return api.post("/pay", body or {"amount": 500, "to": "bob"}, format="json", **extra)


def test_first_request_runs_and_a_replay_returns_the_same_response(api, counter):
    first = pay(api, counter, "key-00000001")
    second = pay(api, counter, "key-00000001")

    assert first.status_code == 201
    assert first.json() == {"paid": 500, "run": 1}
    assert second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert runs(counter) == 1


def test_missing_and_malformed_keys_are_refused_and_nothing_runs(api, counter):
    missing = pay(api, counter, None)
    short = pay(api, counter, "abc")
    spaced = pay(api, counter, "has a space in it")

    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "idempotency_key_required"
    assert short.json()["error"]["code"] == "idempotency_key_invalid"
    assert spaced.json()["error"]["code"] == "idempotency_key_invalid"
    assert runs(counter) == 0
    assert IdempotencyRecord.objects.count() == 0


def test_same_key_with_another_body_is_a_mismatch(api, counter):
    pay(api, counter, "key-00000002", {"amount": 500, "to": "bob"})
    other = pay(api, counter, "key-00000002", {"amount": 900, "to": "bob"})

    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_mismatch"
    assert runs(counter) == 1


def test_key_order_and_whitespace_do_not_change_the_fingerprint():
    assert fingerprint({"a": 1, "b": [1, 2]}) == fingerprint({"b": [1, 2], "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})


def test_validation_failure_stores_nothing_so_the_key_can_be_corrected(api, counter):
    bad = pay(api, counter, "key-00000003", {"amount": 0, "to": "bob"})
    fixed = pay(api, counter, "key-00000003", {"amount": 5, "to": "bob"})

    assert bad.status_code == 400
    assert fixed.status_code == 201
    assert runs(counter) == 1


def test_a_business_refusal_is_stored_and_replayed(api, counter):
    refused = pay(api, counter, "key-00000004", {"amount": 5000, "to": "bob"})
    again = pay(api, counter, "key-00000004", {"amount": 5000, "to": "bob"})

    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "insufficient_funds"
    assert again.status_code == 422
    assert again.json() == refused.json()
    assert again["Idempotent-Replayed"] == "true"


def test_keys_are_scoped_per_user(api, counter, db):
    other = User.objects.create_user(handle="other", email="o@example.com", password="x" * 12)
    other_api = APIClient()
    other_api.force_authenticate(other)

    pay(api, counter, "key-00000005")
    theirs = pay(other_api, counter, "key-00000005")

    assert theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs
    assert runs(counter) == 2


def test_unauthenticated_requests_are_refused_before_any_key_is_stored(counter, db):
    response = pay(APIClient(), counter, "key-00000006")
    assert response.status_code in (401, 403)
    assert IdempotencyRecord.objects.count() == 0


def test_purge_forgets_old_keys(api, counter):
    from datetime import timedelta

    from django.utils import timezone

    pay(api, counter, "key-00000007")
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(days=2))
    assert idempotency_purge() == 1


@pytest.mark.django_db(transaction=True)
def test_fifty_simultaneous_submissions_of_one_key_run_the_work_once(counter):
    user = User.objects.create_user(handle="storm", email="storm@example.com", password="x" * 12)
    client = Client()
    client.force_login(user)
    session_cookie = client.cookies

    outcomes: list[tuple[int, dict]] = []
    barrier = threading.Barrier(50)

    def submit():
        c = Client(enforce_csrf_checks=False)
        c.cookies = session_cookie
        barrier.wait()
        r = c.post(
            "/pay",
            {"amount": 700, "to": "bob"},
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY="storm-key-0001",
            HTTP_X_COUNTER=counter,
            HTTP_X_SLEEP="0.3",
        )
        outcomes.append((r.status_code, r.json()))

    threads = [threading.Thread(target=submit) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert runs(counter) == 1
    statuses = [status for status, _ in outcomes]
    assert statuses.count(201) >= 1
    assert set(statuses) <= {201, 409}
    assert all(body == {"paid": 700, "run": 1} for status, body in outcomes if status == 201)
    assert all(
        body["error"]["code"] == "idempotency_request_in_progress"
        for status, body in outcomes
        if status == 409
    )
    assert IdempotencyRecord.objects.filter(key="storm-key-0001").count() == 1


def test_purge_task_runs_through_celery_code_path(api, counter):
    from core.tasks import idempotency_purge as purge_task

    pay(api, counter, "key-00000008")
    assert purge_task.apply().get() == 0  # fresh keys are kept


def test_a_double_submitted_form_pays_once_and_both_land_on_the_receipt(payer, counter):
    browser = Client()
    browser.force_login(payer)
    form = {"amount": "5", "counter": counter, "idempotency_key": "form-key-0001"}

    first = browser.post("/pay-form", form)
    second = browser.post("/pay-form", form)

    assert first.status_code == 302 and first["Location"] == "/receipt/1"
    assert second.status_code == 302 and second["Location"] == "/receipt/1"
    assert runs(counter) == 1


def test_a_form_with_errors_stores_nothing_and_can_be_resent_with_its_key(payer, counter):
    browser = Client()
    browser.force_login(payer)

    bad = browser.post(
        "/pay-form", {"amount": "0", "counter": counter, "idempotency_key": "fk-00000002"}
    )
    good = browser.post(
        "/pay-form", {"amount": "3", "counter": counter, "idempotency_key": "fk-00000002"}
    )

    assert bad.status_code == 200
    assert good.status_code == 302
    assert runs(counter) == 1


def test_a_form_without_a_key_is_sent_back_and_nothing_runs(payer, counter):
    browser = Client()
    browser.force_login(payer)
    response = browser.post("/pay-form", {"amount": "3", "counter": counter})
    assert response.status_code == 302
    assert response["Location"] == "/pay-form"
    assert runs(counter) == 0
