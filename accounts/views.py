"""Pages for people: follow/block/mute buttons, notifications, profile settings."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django.views.i18n import set_language

from accounts import selectors, services
from accounts.forms import ProfileForm
from accounts.language import language_codes
from core.error_messages import error_message
from core.exceptions import DomainError, NotFound


def _other(handle: str):
    try:
        return selectors.user_get_by_handle(handle=handle)
    except NotFound:
        raise Http404 from None


def _edge(request, handle: str, create, delete, done: str, undone: str):
    other = _other(handle)
    undo = request.POST.get("undo") == "1"
    try:
        (delete if undo else create)(request.user, other)
    except DomainError as exc:
        toast, level = error_message(exc), "error"
    else:
        toast, level = (undone if undo else done) % {"handle": other.handle}, "success"
    if request.htmx:
        # The toast travels with the fragment (out of band), not as a flash for later.
        return render(
            request,
            "accounts/_relationship.html",
            {
                "author": other,
                "rel": selectors.relationship(viewer=request.user, other=other),
                "counts": selectors.follow_counts(user=other),
                "toast": toast,
                "toast_level": level,
            },
        )
    messages.add_message(request, messages.ERROR if level == "error" else messages.SUCCESS, toast)
    return redirect("posts:profile", handle=other.handle)


@login_required
@require_POST
def follow(request, handle: str):
    return _edge(
        request,
        handle,
        lambda me, o: services.follow_create(follower=me, followee=o),
        lambda me, o: services.follow_delete(follower=me, followee=o),
        _("Followed @%(handle)s."),
        _("Unfollowed @%(handle)s."),
    )


@login_required
@require_POST
def block(request, handle: str):
    return _edge(
        request,
        handle,
        lambda me, o: services.block_create(blocker=me, blocked=o),
        lambda me, o: services.block_delete(blocker=me, blocked=o),
        _("Blocked @%(handle)s."),
        _("Unblocked @%(handle)s."),
    )


@login_required
@require_POST
def mute(request, handle: str):
    return _edge(
        request,
        handle,
        lambda me, o: services.mute_create(muter=me, muted=o),
        lambda me, o: services.mute_delete(muter=me, muted=o),
        _("Muted @%(handle)s."),
        _("Unmuted @%(handle)s."),
    )


@require_GET
def notifications_badge(request):
    """htmx: the unread badge, polled every 30 s; one indexed count query. A signed-out
    poll (the session ended) answers 204, which htmx leaves alone."""
    if not request.htmx:
        return redirect("accounts:notifications")
    if not request.user.is_authenticated:
        return HttpResponse(status=204)
    unread = selectors.notification_unread_count(recipient=request.user)
    return render(request, "accounts/_badge.html", {"unread": unread})


@login_required
def notifications(request):
    if request.method == "POST":
        services.notification_mark_read(recipient=request.user)
        return redirect("accounts:notifications")
    items = list(selectors.notification_list(recipient=request.user)[:50])
    return render(request, "accounts/notifications.html", {"items": items})


@login_required
def settings_profile(request):
    user = request.user
    if request.method == "POST":
        form = ProfileForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                data = form.cleaned_data
                services.user_update_profile(
                    user=user,
                    display_name=data["display_name"],
                    bio=data["bio"],
                    link=data["link"],
                    language=data["language"],
                    search_indexing=data["search_indexing"],
                )
                if data.get("avatar"):
                    services.user_set_avatar(user=user, upload=data["avatar"])
            except DomainError as exc:
                form.add_error(None, error_message(exc))
            else:
                # Confirm in the language just chosen: the next page will be in it.
                chosen = user.language or translation.get_language_from_request(request)
                translation.activate(chosen)
                messages.success(request, _("Profile saved."))
                return redirect("accounts:settings")
    else:
        form = ProfileForm(
            initial={
                "display_name": user.display_name,
                "bio": user.bio,
                "link": user.link,
                "language": user.language,
                "search_indexing": user.search_indexing,
            }
        )
    return render(request, "accounts/settings.html", {"form": form})


@require_POST
def language_set(request):
    """Django's ``set_language`` (a cookie, so it works without an account); a signed-in
    person's saved choice changes too, since it ranks above the cookie."""
    response = set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in language_codes():
        services.user_update_profile(user=request.user, language=language)
    return response
