import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts import selectors, services
from accounts.handles import HandleConfusable, HandleReserved, HandleTaken
from accounts.models import AccountAuditEvent, Follow, Notification

pytestmark = pytest.mark.django_db


def test_signup_stores_canonical_handle_and_skeleton(make_user):
    user = make_user("Alice_B")
    assert user.handle == "alice_b"
    assert user.handle_skeleton == "allce_b"
    assert user.emailaddress_set.get().primary


@pytest.mark.parametrize(
    ("second", "error"),
    [
        ("ALICE", HandleTaken),
        ("a1ice", HandleConfusable),
        ("\u0430lice", HandleConfusable),  # Cyrillic a
        ("al\u0456ce", HandleConfusable),  # Cyrillic i
        ("root", HandleReserved),
    ],
)
def test_signup_rejects_taken_confusable_and_reserved(make_user, second, error):
    make_user("alice")
    with pytest.raises(error):
        make_user(second, email="other@example.com")


def test_signup_rejects_duplicate_email_any_case(make_user):
    make_user("first", email="Same@Example.com")
    with pytest.raises(services.EmailTaken):
        make_user("second", email="same@example.COM")


def test_signup_rejects_weak_password(db):
    with pytest.raises(services.PasswordInvalid):
        services.user_signup(handle="weakling", email="w@example.com", password="123")


def test_follow_is_idempotent_and_notifies_once(make_user):
    a, b = make_user(), make_user()
    services.follow_create(follower=a, followee=b)
    services.follow_create(follower=a, followee=b)
    assert Follow.objects.filter(follower=a, followee=b).count() == 1
    assert Notification.objects.filter(recipient=b, kind="follow").count() == 1


def test_cannot_follow_self(make_user):
    a = make_user()
    with pytest.raises(services.CannotTargetSelf):
        services.follow_create(follower=a, followee=a)


def test_block_removes_follows_and_prevents_following(make_user):
    a, b = make_user(), make_user()
    services.follow_create(follower=a, followee=b)
    services.follow_create(follower=b, followee=a)
    services.block_create(blocker=a, blocked=b)
    assert not Follow.objects.filter(follower__in=[a, b]).exists()
    assert selectors.is_blocked(a.pk, b.pk) and selectors.is_blocked(b.pk, a.pk)
    with pytest.raises(services.Blocked):
        services.follow_create(follower=b, followee=a)
    services.block_delete(blocker=a, blocked=b)
    assert not selectors.is_blocked(a.pk, b.pk)


def test_mute_silences_notifications(make_user):
    a, b = make_user(), make_user()
    services.mute_create(muter=b, muted=a)
    services.follow_create(follower=a, followee=b)
    assert not Notification.objects.filter(recipient=b).exists()


def test_notifications_mark_read(make_user):
    a, b, c = make_user(), make_user(), make_user()
    services.follow_create(follower=a, followee=c)
    services.follow_create(follower=b, followee=c)
    assert selectors.notification_unread_count(recipient=c) == 2
    assert services.notification_mark_read(recipient=c) == 2
    assert selectors.notification_unread_count(recipient=c) == 0


def test_profile_update_validates(make_user):
    user = make_user()
    services.user_update_profile(user=user, display_name="  Ada  ", bio="hi\nthere")
    user.refresh_from_db()
    assert user.display_name == "Ada"
    with pytest.raises(services.TextInvalid):
        services.user_update_profile(user=user, bio="bad\x00")
    with pytest.raises(services.TextTooLong):
        services.user_update_profile(user=user, bio="x" * 301)
    with pytest.raises(services.LinkInvalid):
        services.user_update_profile(user=user, link="javascript:alert(1)")


def _png(size=(50, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "red").save(out, format="PNG")
    return out.getvalue()


def test_avatar_is_validated_and_reencoded(make_user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    user = make_user()
    services.user_set_avatar(user=user, upload=SimpleUploadedFile("a.png", _png()))
    with Image.open(user.avatar.path) as stored:
        assert stored.size == (400, 400)
    with pytest.raises(services.AvatarInvalid):
        services.user_set_avatar(
            user=user, upload=SimpleUploadedFile("a.png", b"<html><script>x</script>")
        )
    with pytest.raises(services.AvatarInvalid):
        services.user_set_avatar(
            user=user, upload=SimpleUploadedFile("big.png", b"\x89PNG" + b"0" * (3 * 1024 * 1024))
        )


def test_suspend_deactivates_and_audits(make_user):
    staff, user = make_user(), make_user()
    services.user_suspend(user=user, actor=staff, reason="spam")
    user.refresh_from_db()
    assert not user.is_active
    assert AccountAuditEvent.objects.get(user=user).action == "suspend"
    services.user_unsuspend(user=user, actor=staff)
    user.refresh_from_db()
    assert user.is_active


def test_search_by_handle_and_name(make_user):
    make_user("zelda", display_name="Princess Z")
    make_user("zorro")
    assert [u.handle for u in selectors.user_search(query="zel")] == ["zelda"]
    assert [u.handle for u in selectors.user_search(query="princess")] == ["zelda"]
    assert selectors.user_search(query="\x00") == []
