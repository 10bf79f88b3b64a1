import pytest
from allauth.account.internal.flows.reauthentication import reauthenticate_by_password
from allauth.core.exceptions import ReauthenticationRequired as AllauthReauthRequired
from django.contrib.sessions.backends.cache import SessionStore
from django.http import HttpResponse
from django.views import View

from accounts.reauth import ReauthenticationRequiredMixin, reauthentication_required

pytestmark = pytest.mark.django_db


@reauthentication_required
def sensitive(request):
    return HttpResponse("done")


def test_page_decorator_requires_recent_reauthentication(make_user, rf):
    request = rf.post("/payouts/destination")
    request.user = make_user()
    request.session = SessionStore()
    with pytest.raises(AllauthReauthRequired):
        sensitive(request)
    reauthenticate_by_password(request)
    assert sensitive(request).content == b"done"


class SensitiveView(ReauthenticationRequiredMixin, View):
    def get(self, request):
        return HttpResponse("form")

    def post(self, request):
        return HttpResponse("changed")


def test_mixin_lets_get_through_and_guards_post(make_user, rf):
    user = make_user()
    get = rf.get("/x")
    get.user, get.session = user, SessionStore()
    assert SensitiveView.as_view()(get).content == b"form"
    post = rf.post("/x")
    post.user, post.session = user, SessionStore()
    with pytest.raises(AllauthReauthRequired):
        SensitiveView.as_view()(post)
    reauthenticate_by_password(post)
    assert SensitiveView.as_view()(post).content == b"changed"
