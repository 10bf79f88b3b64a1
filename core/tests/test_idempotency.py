"""The API idempotency contract, end to end through DRF, on the real database and Redis."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User
from core.idempotency import fingerprint, idempotency_purge
from core.models import IdempotencyRecord
from core.tests.idempotency_views import redis_client

pytestmark = pytest.mark.urls("core.tests.idempotency_views")


@pytest.fixture
def counter(settings):
    name = f"{settings.TEST_REDIS_PREFIX}:idem:{uuid.uuid4().hex}"
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


# Both modes of ``idempotent_api`` keep one contract: the work outside our transaction under
# a session-level claim (``/pay``) and claim, work and outcome in one transaction
# (``/pay-one-transaction``).
MODES = ["/pay", "/pay-one-transaction"]
ENDPOINTS = {"/pay": "test.pay", "/pay-one-transaction": "test.pay_one"}


def advisory_locks_held(path: str = "/pay") -> int:
    """Session-level claims (``/pay``) this test's connection still holds: one must never
    outlive its request. (The one-transaction claim lasts until the test's own outer
    transaction ends, so it is only counted in transactional tests.)"""
    if path != "/pay":
        return 0
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
        )
        return cur.fetchone()[0]


@pytest.fixture(params=MODES)
def path(request):
    return request.param


def pay(api, counter, key, body=None, path="/pay", **headers):
    extra = {"HTTP_X_COUNTER": counter}
    if key is not None:
        extra["HTTP_IDEMPOTENCY_KEY"] = key
    extra.update(headers)
    return api.post(path, body or {"amount": 500, "to": "bob"}, format="json", **extra)


def test_first_request_runs_and_a_replay_returns_the_same_response(api, counter, path):
    first = pay(api, counter, "key-00000001", path=path)
    second = pay(api, counter, "key-00000001", path=path)

    assert first.status_code == 201
    assert first.json() == {"paid": 500, "run": 1}
    assert second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert runs(counter) == 1
    assert advisory_locks_held(path) == 0


def test_missing_and_malformed_keys_are_refused_and_nothing_runs(api, counter, path):
    missing = pay(api, counter, None, path=path)
    short = pay(api, counter, "abc", path=path)
    spaced = pay(api, counter, "has a space in it", path=path)

    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "idempotency_key_required"
    assert short.json()["error"]["code"] == "idempotency_key_invalid"
    assert spaced.json()["error"]["code"] == "idempotency_key_invalid"
    assert runs(counter) == 0
    assert IdempotencyRecord.objects.count() == 0


def test_same_key_with_another_body_is_a_mismatch(api, counter, path):
    pay(api, counter, "key-00000002", {"amount": 500, "to": "bob"}, path=path)
    other = pay(api, counter, "key-00000002", {"amount": 900, "to": "bob"}, path=path)

    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_mismatch"
    assert runs(counter) == 1
    assert advisory_locks_held(path) == 0


def test_key_order_and_whitespace_do_not_change_the_fingerprint():
    assert fingerprint({"a": 1, "b": [1, 2]}) == fingerprint({"b": [1, 2], "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})


def test_validation_failure_stores_nothing_so_the_key_can_be_corrected(api, counter, path):
    bad = pay(api, counter, "key-00000003", {"amount": 0, "to": "bob"}, path=path)
    fixed = pay(api, counter, "key-00000003", {"amount": 5, "to": "bob"}, path=path)

    assert bad.status_code == 400
    assert fixed.status_code == 201
    assert runs(counter) == 1


def test_a_business_refusal_is_stored_and_replayed(api, counter, path):
    refused = pay(api, counter, "key-00000004", {"amount": 5000, "to": "bob"}, path=path)
    again = pay(api, counter, "key-00000004", {"amount": 5000, "to": "bob"}, path=path)

    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "insufficient_funds"
    assert again.status_code == 422
    assert again.json() == refused.json()
    assert again["Idempotent-Replayed"] == "true"
    assert advisory_locks_held(path) == 0


def test_keys_are_scoped_per_user(api, counter, db, path):
    other = User.objects.create_user(handle="other", email="o@example.com", password="x" * 12)
    other_api = APIClient()
    other_api.force_authenticate(other)

    pay(api, counter, "key-00000005", path=path)
    theirs = pay(other_api, counter, "key-00000005", path=path)

    assert theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs
    assert runs(counter) == 2


def test_unauthenticated_requests_are_refused_before_any_key_is_stored(counter, db, path):
    response = pay(APIClient(), counter, "key-00000006", path=path)
    assert response.status_code in (401, 403)
    assert IdempotencyRecord.objects.count() == 0


def test_purge_forgets_old_keys(api, counter):
    from datetime import timedelta

    from django.utils import timezone

    pay(api, counter, "key-00000007")
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(days=2))
    assert idempotency_purge() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.many_connections  # 50 threads, a connection each
def test_fifty_simultaneous_submissions_of_one_key_run_the_work_once(counter, path):
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
        try:
            r = c.post(
                path,
                {"amount": 700, "to": "bob"},
                content_type="application/json",
                HTTP_IDEMPOTENCY_KEY="storm-key-0001",
                HTTP_X_COUNTER=counter,
                HTTP_X_SLEEP="0.3",
            )
        finally:
            connection.close()  # the thread's own; persistent connections outlive requests
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


# --- the session claim: a crash releases the key ------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_a_crash_in_a_view_outside_the_transaction_releases_the_key_at_once(counter):
    """Work outside our transaction (a processor call) cannot be rolled back, so nothing is
    stored; the claim is released with the request and the retry runs at once (the
    service's own idempotency key is what makes that run harmless)."""
    user = User.objects.create_user(handle="crash2", email="c2@example.com", password="x" * 12)
    client = APIClient()
    client.force_authenticate(user)

    with pytest.raises(RuntimeError, match="died after the work"):
        pay(client, counter, "crash-key-0002", path=MODES[0], HTTP_X_CRASH="1")
    assert advisory_locks_held() == 0
    assert not IdempotencyRecord.objects.filter(key="crash-key-0002").exists()

    retried = pay(client, counter, "crash-key-0002", path=MODES[0])
    assert retried.status_code == 201 and retried.json() == {"paid": 500, "run": 2}
    assert IdempotencyRecord.objects.get(key="crash-key-0002").response_status == 201


# --- one-transaction mode: what only it promises ------------------------------------------
def _paid_rows(user) -> int:
    from accounts.models import Notification

    return Notification.objects.filter(recipient=user, kind="test_paid").count()


@pytest.mark.django_db(transaction=True)
def test_one_transaction_a_crash_after_the_work_leaves_nothing_and_the_retry_runs(counter):
    """The work, the claim and the outcome commit together: a crash after the work rolls
    all of it back (no row, no stored key), so the retry with the same key simply runs."""
    user = User.objects.create_user(handle="crash", email="crash@example.com", password="x" * 12)
    client = APIClient()
    client.force_authenticate(user)

    with pytest.raises(RuntimeError, match="died after the work"):
        pay(client, counter, "crash-key-0001", path=MODES[1], HTTP_X_CRASH="1")
    assert runs(counter) == 1  # the work did run before the crash
    assert _paid_rows(user) == 0
    assert IdempotencyRecord.objects.filter(key="crash-key-0001").count() == 0

    retried = pay(client, counter, "crash-key-0001", path=MODES[1])
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried
    assert _paid_rows(user) == 1
    record = IdempotencyRecord.objects.get(key="crash-key-0001")
    assert record.response_status == 201


@pytest.mark.django_db(transaction=True)
def test_one_transaction_a_refusal_rolls_back_the_work_and_is_replayed(counter):
    user = User.objects.create_user(handle="refuse", email="r@example.com", password="x" * 12)
    client = APIClient()
    client.force_authenticate(user)
    body = {"amount": 5000, "to": "bob"}

    refused = pay(client, counter, "refuse-key-01", body, path=MODES[1])
    again = pay(client, counter, "refuse-key-01", body, path=MODES[1])

    assert refused.status_code == again.status_code == 422
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == refused.json()
    assert _paid_rows(user) == 0


@pytest.mark.django_db(transaction=True)
def test_409_while_another_request_holds_the_key(counter, path):
    """While the first request runs (its advisory lock held), a second request with the
    same key is told 409 at once instead of waiting for it; once it is done, the key is
    free."""
    from django.db import connections

    user = User.objects.create_user(handle="holder", email="h@example.com", password="x" * 12)
    client = APIClient()
    client.force_authenticate(user)
    scoped = f"{user.pk}:{ENDPOINTS[path]}:held-key-0001"
    holder = connections.create_connection("default")
    try:
        with holder.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", [scoped])
        busy = pay(client, counter, "held-key-0001", path=path)
        with holder.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [scoped])
        free = pay(client, counter, "held-key-0001", path=path)
    finally:
        holder.close()

    assert busy.status_code == 409
    assert busy.json()["error"]["code"] == "idempotency_request_in_progress"
    assert free.status_code == 201
    assert runs(counter) == 1


@pytest.mark.django_db(transaction=True)
def test_one_transaction_a_5xx_answer_is_rolled_back_and_the_retry_runs(counter):
    """A server-side failure answered (not raised) is no outcome: what the view wrote is
    rolled back and the key stays usable."""
    user = User.objects.create_user(handle="busy", email="busy@example.com", password="x" * 12)
    client = APIClient()
    client.force_authenticate(user)

    failed = pay(client, counter, "busy-key-0001", path=MODES[1], HTTP_X_UNAVAILABLE="1")
    retried = pay(client, counter, "busy-key-0001", path=MODES[1])

    assert failed.status_code == 503
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried
    assert runs(counter) == 2
    assert _paid_rows(user) == 1  # the 503's row was rolled back


def test_a_second_click_while_the_first_pays_waits_and_lands_on_the_same_page(
    payer, counter, monkeypatch
):
    """The second submission finds the key in progress: it waits for the first and follows
    it to its page — never back to the form's POST-only action (that GET would be a 405)."""
    import core.idempotency as idem

    real_claim = idem._claim
    answers = iter([idem.IdempotencyInProgress(), idem.IdempotencyInProgress()])

    def busy_then_done(**kwargs):
        nxt = next(answers, None)
        if nxt is not None:
            raise nxt
        return real_claim(**kwargs)

    browser = Client()
    browser.force_login(payer)
    form = {"amount": "5", "counter": counter, "idempotency_key": "form-key-0077"}
    first = browser.post("/pay-form", form)
    monkeypatch.setattr(idem, "_claim", busy_then_done)
    second = browser.post("/pay-form", form, HTTP_REFERER="http://testserver/review")
    assert first["Location"] == "/receipt/1"
    assert second.status_code == 302 and second["Location"] == "/receipt/1"
    assert runs(counter) == 1


def test_a_submission_still_running_sends_the_second_click_back_to_the_form_page(
    payer, counter, monkeypatch
):
    import core.idempotency as idem

    def always_busy(**kwargs):
        raise idem.IdempotencyInProgress()

    monkeypatch.setattr(idem, "FORM_WAIT_SECONDS", 0.3)
    monkeypatch.setattr(idem, "_claim", always_busy)
    browser = Client()
    browser.force_login(payer)
    form = {"amount": "5", "counter": counter, "idempotency_key": "form-key-0078"}
    back = browser.post("/pay-form", form, HTTP_REFERER="http://testserver/wallet/requests")
    assert back.status_code == 302 and back["Location"] == "http://testserver/wallet/requests"
    elsewhere = browser.post("/pay-form", form, HTTP_REFERER="https://evil.example/x")
    assert elsewhere.status_code == 302 and elsewhere["Location"] == "/"
    assert runs(counter) == 0
