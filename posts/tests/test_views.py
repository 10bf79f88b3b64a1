import pytest
from django.test import Client

from accounts.services import follow_create
from posts import services
from posts.models import Post

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(make_user):
    def make(user):
        client = Client()
        client.force_login(user)
        return client

    return make


def test_welcome_page_for_visitors(make_user):
    services.post_create(author=make_user(), text="visible to all")
    html = Client().get("/").content.decode()
    assert "Create your account" in html and "visible to all" in html


def test_home_composer_timeline_and_follow_without_js(make_user, browser):
    me, friend = make_user(), make_user()
    services.post_create(author=friend, text="friend says hi")
    client = browser(me)
    assert "friend says hi" not in client.get("/").content.decode()
    response = client.post(f"/@{friend.handle}/follow")
    assert response.status_code == 302
    assert "friend says hi" in client.get("/").content.decode()
    response = client.post("/posts/new", {"text": "<b>bold</b> #tag"})
    assert response.status_code == 302
    html = client.get("/").content.decode()
    assert "&lt;b&gt;bold&lt;/b&gt;" in html


def test_htmx_like_returns_fragment(make_user, browser):
    me, other = make_user(), make_user()
    post = services.post_create(author=other, text="like me")
    client = browser(me)
    response = client.post(f"/posts/{post.pk}/like", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "<html" not in response.content.decode()
    assert 'aria-pressed="true"' in response.content.decode()


def test_profile_post_notifications_settings_search(make_user, browser):
    me, other = make_user(display_name="Me Myself"), make_user()
    follow_create(follower=other, followee=me)
    post = services.post_create(author=me, text="thread root")
    services.post_create(author=other, text="a reply", reply_to_id=post.pk)
    client = browser(me)
    assert client.get(f"/@{me.handle.upper()}").status_code == 302
    assert "thread root" in client.get(f"/@{me.handle}").content.decode()
    assert client.get("/@nobody_at_all").status_code == 404
    assert "a reply" in client.get(f"/posts/{post.pk}").content.decode()
    page = client.get("/notifications").content.decode()
    assert "followed you" in page and "replied" in page
    response = client.post("/settings", {"display_name": "New Name", "bio": "", "link": ""})
    assert response.status_code == 302
    me.refresh_from_db()
    assert me.display_name == "New Name"
    assert me.handle in client.get("/search", {"q": "new na"}).content.decode()
    assert "thread root" not in client.get("/search", {"q": "#nothing"}).content.decode()


def test_signup_page_uses_handle_rules(make_user):
    make_user("taken_name")
    response = Client().post(
        "/accounts/signup/",
        {
            "username": "TAKEN_NAME",
            "email": "new@example.com",
            "password1": "correct horse battery staple",
            "password2": "correct horse battery staple",
        },
    )
    assert response.status_code == 200
    assert "That handle is taken." in response.content.decode()
    response = Client().post(
        "/accounts/signup/",
        {
            "username": "Fresh_One",
            "email": "fresh@example.com",
            "password1": "correct horse battery staple",
            "password2": "correct horse battery staple",
        },
    )
    assert response.status_code == 302
    assert Post.objects.count() == 0
    from accounts.models import User

    assert User.objects.get(email="fresh@example.com").handle == "fresh_one"


def test_csrf_required_for_session_posts(make_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user())
    assert client.post("/posts/new", {"text": "no token"}).status_code == 403


def test_password_reset_sends_mail(make_user, mailoutbox):
    user = make_user()
    client = Client()
    assert client.get("/accounts/password/reset/").status_code == 200
    response = client.post("/accounts/password/reset/", {"email": user.email})
    assert response.status_code == 302
    assert len(mailoutbox) == 1 and "/accounts/password/reset/key/" in mailoutbox[0].body


def test_long_thread_is_shown_a_page_of_replies_at_a_time(make_user, browser):
    from posts.selectors import THREAD_PAGE_SIZE

    me, other = make_user(), make_user()
    root = services.post_create(author=me, text="root")
    for i in range(THREAD_PAGE_SIZE + 3):
        services.post_create(author=other, text=f"reply number {i}.", reply_to_id=root.pk)
    client = browser(me)
    first = client.get(f"/posts/{root.pk}")
    shown = [r.text for r in first.context["replies"]]
    assert shown == [f"reply number {i}." for i in range(THREAD_PAGE_SIZE)]
    after = first.context["later_replies_after"]
    assert f'href="?after={after}"' in first.content.decode()
    later = client.get(f"/posts/{root.pk}", {"after": after})
    assert [r.text for r in later.context["replies"]] == [
        f"reply number {i}." for i in range(THREAD_PAGE_SIZE, THREAD_PAGE_SIZE + 3)
    ]
    assert later.context["later_replies_after"] is None
    assert "Later replies" not in later.content.decode()
    # A cursor that is not a positive number is ignored, never an error.
    for junk in ("x", "-5", "0", "9" * 40):
        assert client.get(f"/posts/{root.pk}", {"after": junk}).status_code == 200
