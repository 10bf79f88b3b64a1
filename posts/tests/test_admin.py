import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.test import Client

from accounts.models import AccountAuditEvent
from posts import services
from posts.models import Post, Report

pytestmark = pytest.mark.django_db


def test_admin_actions_hide_and_suspend(make_user):
    staff = make_user()
    staff.is_staff = staff.is_superuser = True
    staff.save()
    # The admin lets only staff with a second factor in (accounts.admin_site).
    TOTP.activate(staff, generate_totp_secret())
    author, reporter = make_user(), make_user()
    post = services.post_create(author=author, text="spam")
    report = services.report_create(reporter=reporter, post_id=post.pk, reason="spam")
    client = Client()
    client.force_login(staff)
    assert client.get("/admin/posts/report/").status_code == 200
    client.post("/admin/posts/report/", {"action": "hide_post", "_selected_action": [report.pk]})
    assert Post.objects.get(pk=post.pk).hidden_at is not None
    assert Report.objects.get(pk=report.pk).status == "actioned"
    client.post("/admin/accounts/user/", {"action": "suspend", "_selected_action": [author.pk]})
    author.refresh_from_db()
    assert not author.is_active
    assert AccountAuditEvent.objects.get(user=author).actor == staff
