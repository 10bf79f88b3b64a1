"""Followers and following: the pages (paginated, with follow buttons) and the API lists,
which hide when the two people block each other and leave out people who block the
viewer, whom the viewer blocks, and suspended accounts."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts import selectors
from accounts.services import block_create, follow_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def star(make_user):
    """@star followed by three people (oldest first), following one."""
    star = make_user(display_name="Star")
    fans = [make_user(display_name=f"Fan {n}") for n in range(3)]
    for fan in fans:
        follow_create(follower=fan, followee=star)
    follow_create(follower=star, followee=fans[0])
    return star, fans


def test_followers_page_lists_people_newest_first_with_follow_buttons(star, client, make_user):
    star, fans = star
    viewer = make_user()
    follow_create(follower=viewer, followee=fans[1])
    client.force_login(viewer)
    page = client.get(f"/@{star.handle}/followers").content.decode()
    positions = [page.index(f"@{fan.handle}") for fan in reversed(fans)]
    assert positions == sorted(positions)
    assert page.count('action="/@') == 3  # a button per person (none for the viewer)
    assert f'action="/@{fans[1].handle}/follow"' in page
    assert "Unfollow" in page and 'name="next" value="/@' in page
    following = client.get(f"/@{star.handle}/following").content.decode()
    assert f"@{fans[0].handle}" in following and f"@{fans[2].handle}" not in following


def test_follow_button_on_a_list_comes_back_to_the_list(star, client, make_user):
    star, fans = star
    viewer = make_user()
    client.force_login(viewer)
    response = client.post(
        f"/@{fans[2].handle}/follow", {"next": f"/@{star.handle}/followers"}, follow=False
    )
    assert response.status_code == 302 and response["Location"] == f"/@{star.handle}/followers"
    assert selectors.relationship(viewer=viewer, other=fans[2]).following


def test_pages_of_followers(star, client, monkeypatch):
    star, fans = star
    monkeypatch.setattr(selectors, "FOLLOW_LIST_PAGE_SIZE", 2)
    first = client.get(f"/@{star.handle}/followers").content.decode()
    assert f"@{fans[2].handle}" in first and f"@{fans[0].handle}" not in first
    more = first.split('href="?before=')[1].split('"')[0]
    second = client.get(f"/@{star.handle}/followers?before={more}").content.decode()
    assert f"@{fans[0].handle}" in second and f"@{fans[2].handle}" not in second
    assert 'href="?before=' not in second


def test_blocks_hide_the_lists_and_the_people(star, client, make_user):
    star, fans = star
    blocked_viewer, viewer = make_user(), make_user()
    block_create(blocker=star, blocked=blocked_viewer)
    client.force_login(blocked_viewer)
    response = client.get(f"/@{star.handle}/followers")
    assert response.status_code == 403
    assert f"@{fans[0].handle}" not in response.content.decode()
    # A fan who blocks the viewer, and a suspended fan, are left out of the list.
    block_create(blocker=fans[0], blocked=viewer)
    fans[1].is_active = False
    fans[1].save(update_fields=["is_active"])
    client.force_login(viewer)
    page = client.get(f"/@{star.handle}/followers").content.decode()
    assert f"@{fans[2].handle}" in page
    assert f"@{fans[0].handle}" not in page and f"@{fans[1].handle}" not in page


def test_profile_counts_link_to_the_lists(star, client):
    star, _ = star
    page = client.get(f"/@{star.handle}").content.decode()
    assert f'href="/@{star.handle}/followers"' in page
    assert f'href="/@{star.handle}/following"' in page


def test_api_lists_in_the_shape_of_every_list(star, make_user, client_for):
    star, fans = star
    viewer = make_user()
    follow_create(follower=viewer, followee=fans[2])
    url = f"/api/v1/users/{star.handle}/followers"
    body = client_for(viewer).get(url, {"limit": 2}).json()
    assert list(body) == ["object", "data", "has_more", "next_cursor"] and body["has_more"]
    assert [r["person"]["handle"] for r in body["data"]] == [fans[2].handle, fans[1].handle]
    assert [r["viewer_follows"] for r in body["data"]] == [True, False]
    rest = client_for(viewer).get(url, {"limit": 2, "cursor": body["next_cursor"]}).json()
    assert [r["person"]["handle"] for r in rest["data"]] == [fans[0].handle]
    assert rest["has_more"] is False and rest["next_cursor"] is None
    anonymous = APIClient().get(f"/api/v1/users/{star.handle}/following").json()
    assert [(r["person"]["handle"], r["viewer_follows"]) for r in anonymous["data"]] == [
        (fans[0].handle, None)
    ]
    assert anonymous["data"][0]["since"].endswith("Z")


def test_api_lists_refuse_blocked_viewers_and_unknown_people(star, make_user, client_for):
    star, _ = star
    viewer = make_user()
    block_create(blocker=viewer, blocked=star)
    response = client_for(viewer).get(f"/api/v1/users/{star.handle}/following")
    assert response.status_code == 403 and response.json()["error"]["code"] == "blocked"
    response = APIClient().get("/api/v1/users/nobody_here_at_all/followers")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
