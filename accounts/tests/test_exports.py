"""Data exports without a worker: the ZIP's contents and README, one running export per
person, download for the owner only, expiry and pruning, the e-mail, and the API's 4xx."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from accounts import exports
from accounts.models import AccountAuditEvent, DataExport
from accounts.services import follow_create, notification_create
from posts.services import post_create

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _zip(export: DataExport) -> zipfile.ZipFile:
    with default_storage.open(export.file_name, "rb") as f:
        return zipfile.ZipFile(io.BytesIO(f.read()))


def test_the_zip_holds_every_section_as_json_and_csv_with_a_readme(
    make_user, mailoutbox, django_capture_on_commit_callbacks
):
    ada, bob = make_user("ada_exports"), make_user()
    follow_create(follower=ada, followee=bob)
    post_create(author=ada, text="hello, world")
    notification_create(recipient=ada, actor=bob, kind="follow")
    export = exports.export_request(user=ada, page_url="https://socialpay.example/settings/data")
    assert (export.status, export.progress) == ("queued", 0)

    with django_capture_on_commit_callbacks(execute=True):
        built = exports.export_build(export_id=export.pk, page_url="https://socialpay.example/x")
    assert built is not None
    assert (built.status, built.progress) == ("ready", 100)
    assert built.expires_at > timezone.now() + timedelta(days=2)
    archive = _zip(built)
    names = set(archive.namelist())
    assert {
        "README.txt",
        "profile.json",
        "following.json",
        "following.csv",
        "notifications.json",
        "posts/posts.json",
        "posts/posts.csv",
        "payments/transfers.json",
        "payments/orders.json",
        "payments/payouts.json",
        "payments/memberships.json",
        "payments/disputes.json",
        "payments/links.json",
    } <= names
    assert "profile.csv" not in names
    profile = json.loads(archive.read("profile.json"))
    assert profile[0]["handle"] == "ada_exports"
    assert profile[0]["email"] == "ada_exports@example.com"
    assert json.loads(archive.read("following.json"))[0]["handle"] == bob.handle
    assert "hello, world" in archive.read("posts/posts.csv").decode()
    assert json.loads(archive.read("notifications.json"))[0]["actor"] == bob.handle
    readme = archive.read("README.txt").decode()
    assert "@ada_exports" in readme and "posts/posts (.json, .csv, 1)" in readme
    # Mailed once ready (in English: her language is not set).
    (mail,) = mailoutbox
    assert mail.to == ["ada_exports@example.com"] and "https://socialpay.example/x" in mail.body
    actions = set(AccountAuditEvent.objects.filter(user=ada).values_list("action", flat=True))
    assert {"data_export_requested", "data_export_ready"} <= actions
    # A task delivered twice builds once.
    assert exports.export_build(export_id=export.pk) is None


def test_the_readme_and_mail_speak_the_persons_language(
    make_user, mailoutbox, django_capture_on_commit_callbacks
):
    ada = make_user()
    ada.language = "de"
    ada.save(update_fields=["language"])
    export = exports.export_request(user=ada)
    with django_capture_on_commit_callbacks(execute=True):
        built = exports.export_build(export_id=export.pk, page_url="https://socialpay.example/x")
    assert "Deine SocialPay-Daten" in _zip(built).read("README.txt").decode()
    assert mailoutbox[0].subject == "Deine SocialPay-Daten sind bereit"


def test_one_running_export_per_person_and_a_daily_limit(make_user):
    ada = make_user()
    first = exports.export_request(user=ada)
    with pytest.raises(exports.ExportAlreadyRunning) as refused:
        exports.export_request(user=ada)
    assert refused.value.code == "export_already_running"
    assert DataExport.objects.filter(user=ada).count() == 1
    exports.export_build(export_id=first.pk)
    for _ in range(exports.EXPORT_DAILY_LIMIT - 1):
        exports.export_build(export_id=exports.export_request(user=ada).pk)
    with pytest.raises(exports.ExportLimitReached):
        exports.export_request(user=ada)
    assert DataExport.objects.filter(user=ada).count() == exports.EXPORT_DAILY_LIMIT


def test_a_failing_section_marks_the_export_failed(make_user, monkeypatch):
    ada = make_user()

    def broken(*, user):
        raise RuntimeError("boom")

    monkeypatch.setitem(exports._SECTIONS, "broken", broken)
    export = exports.export_request(user=ada)
    built = exports.export_build(export_id=export.pk)
    assert (built.status, built.failure, built.file_name) == ("failed", "RuntimeError", "")
    # The next request is allowed: nothing is running any more.
    monkeypatch.delitem(exports._SECTIONS, "broken")
    exports.export_request(user=ada)


def test_download_is_for_the_owner_only_and_expires(make_user):
    ada, eve = make_user(), make_user()
    export = exports.export_build(export_id=exports.export_request(user=ada).pk)
    assert exports.export_for_download(user=ada, export_id=export.pk) == export
    with pytest.raises(exports.ExportNotFound):
        exports.export_for_download(user=eve, export_id=export.pk)
    DataExport.objects.filter(pk=export.pk).update(expires_at=timezone.now())
    with pytest.raises(exports.ExportExpired):
        exports.export_for_download(user=ada, export_id=export.pk)
    assert default_storage.exists(export.file_name)
    assert exports.exports_prune() == 1
    assert not default_storage.exists(export.file_name)
    assert not DataExport.objects.filter(pk=export.pk).exists()


def test_prune_fails_exports_a_dead_worker_left_behind(make_user):
    ada = make_user()
    export = exports.export_request(user=ada)
    DataExport.objects.filter(pk=export.pk).update(created_at=timezone.now() - timedelta(hours=2))
    exports.exports_prune()
    assert DataExport.objects.get(pk=export.pk).status == "failed"
    exports.export_request(user=ada)  # and the person can ask again


# --- API -------------------------------------------------------------------------------------


def test_api_export_request_status_and_download(make_user, client_for):
    ada, eve = make_user(), make_user()
    api = client_for(ada)
    created = api.post("/api/v1/me/exports", format="json")
    assert created.status_code == 202, created.content
    assert created.json()["status"] == "queued" and created.json()["download_url"] is None
    again = api.post("/api/v1/me/exports", format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "export_already_running"
    export_id = created.json()["id"]
    not_ready = api.get(f"/api/v1/me/exports/{export_id}/download")
    assert not_ready.status_code == 409
    assert not_ready.json()["error"]["code"] == "export_not_ready"

    exports.export_build(export_id=export_id)
    detail = api.get(f"/api/v1/me/exports/{export_id}").json()
    assert detail["status"] == "ready" and detail["progress"] == 100
    download = api.get(detail["download_url"])
    assert download.status_code == 200
    assert download["Content-Type"] == "application/zip"
    assert download["Cache-Control"] == "private, no-store"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    assert "README.txt" in archive.namelist()
    # Someone else's export does not exist for them.
    other = client_for(eve)
    assert other.get(f"/api/v1/me/exports/{export_id}").status_code == 404
    theirs = other.get(f"/api/v1/me/exports/{export_id}/download")
    assert theirs.status_code == 404 and theirs.json()["error"]["code"] == "export_not_found"
    assert api.get("/api/v1/me/exports").json()["data"][0]["id"] == export_id


def test_api_export_refuses_bad_input(make_user, client_for):
    api = client_for(make_user())
    bad = api.post("/api/v1/me/exports", {"everything": True}, format="json")
    assert bad.status_code == 400
    assert not DataExport.objects.exists()
    assert api.get("/api/v1/me/exports/999999").status_code == 404
    from rest_framework.test import APIClient

    assert APIClient().post("/api/v1/me/exports").status_code == 401


def test_beat_prunes_exports_through_a_registered_task(settings):
    from socialpay.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["accounts-exports-prune"]
    assert entry["task"] == "accounts.exports_prune"
    app.loader.import_default_modules()
    assert {"accounts.exports_prune", "accounts.export_build"} <= set(app.tasks)
