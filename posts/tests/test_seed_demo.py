import pytest
from django.core.management import call_command

from accounts.models import Follow, Notification
from posts.models import Like, Post

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent():
    call_command("seed_demo", stdout=None)
    counts = [m.objects.count() for m in (Post, Follow, Like, Notification)]
    assert counts[0] == 9 and counts[1] == 6 and counts[2] == 3
    call_command("seed_demo")
    assert [m.objects.count() for m in (Post, Follow, Like, Notification)] == counts
