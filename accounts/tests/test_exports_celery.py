"""A data export end to end through a real Celery worker: asked for through the API, built
by the worker (progress to ``ready``), e-mailed, downloaded and unzipped here; what the
ZIP holds is checked against what happened (a top-up, a payment, a post, a follow)."""

from __future__ import annotations

import csv
import io
import json
import time
import uuid
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.storage import default_storage

from accounts.models import DataExport
from accounts.services import follow_create
from core.money import Money
from payments.wallets.tests.support import api, fund, person
from payments.wallets.transfers import transfer_create
from posts.services import post_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _generous_throttles(monkeypatch):
    from payments.wallets.tests.support import generous_throttles

    generous_throttles(monkeypatch)


def _wait_for(check, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError("timed out waiting for the worker")


def test_the_worker_builds_the_export_and_the_zip_holds_what_happened(celery_worker_process):
    ada, bob = person(), person()
    fund(ada, 10000)
    transfer_create(
        sender=ada, to=bob, money=Money(2500, "USD"), client_key=uuid.uuid4().hex, note="rent"
    )
    follow_create(follower=ada, followee=bob)
    post_create(author=ada, text="exported, with ümlauts")
    client = api(ada)

    asked = client.post("/api/v1/me/exports", format="json")
    assert asked.status_code == 202, asked.content
    export_id = asked.json()["id"]

    def ready():
        body = client.get(f"/api/v1/me/exports/{export_id}").json()
        return body if body["status"] in {"ready", "failed"} else None

    body = _wait_for(ready)
    assert body["status"] == "ready", body
    assert body["progress"] == 100 and body["size"] > 0
    download = client.get(body["download_url"])
    assert download.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    try:
        assert archive.testzip() is None
        profile = json.loads(archive.read("profile.json"))[0]
        assert profile["handle"] == ada.handle and profile["email"] == ada.email
        transfers = json.loads(archive.read("payments/transfers.json"))
        assert [
            (t["direction"], t["counterparty"], t["amount"], t["currency"], t["note"])
            for t in transfers
        ] == [("sent", bob.handle, 2500, "USD", "rent")]
        topups = list(csv.DictReader(io.StringIO(archive.read("payments/topups.csv").decode())))
        assert [(t["amount"], t["currency"], t["status"]) for t in topups] == [
            ("10000", "USD", "succeeded")
        ]
        statement = json.loads(archive.read("statements/USD.json"))
        assert [line["amount"] for line in statement] == [-2500, 10000]
        assert statement[0]["balance_after"] == 7500
        assert statement[0]["counterparty"] == bob.handle
        posts = json.loads(archive.read("posts/posts.json"))
        assert posts[0]["text"] == "exported, with ümlauts"
        assert json.loads(archive.read("following.json"))[0]["handle"] == bob.handle
        readme = archive.read("README.txt").decode()
        assert "statements/USD (.json, .csv, 2)" in readme
    finally:
        export = DataExport.objects.get(pk=export_id)
        default_storage.delete(export.file_name)

    # The worker mailed the link (the console mail backend writes into its log).
    log = ROOT / ".data" / f"celery-test-{settings.TEST_WORKER}.log"
    _wait_for(lambda: "Your SocialPay data is ready" in log.read_text(errors="replace"))
    assert "/settings/data" in log.read_text(errors="replace")
