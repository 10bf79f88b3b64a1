"""Pages for people: follow/block/mute buttons, notifications, profile settings, API tokens,
your data (export and closing the account)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.i18n import set_language

from accounts import closing, exports, selectors, services
from accounts.api import export_file_response
from accounts.forms import AccountCloseForm, ApiTokenForm, ProfileForm
from accounts.language import language_codes
from accounts.models import DataExport
from accounts.reauth import reauthentication_required
from core.counts import typed_count
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
    # The buttons on a followers list come back to the list.
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("posts:profile", handle=other.handle)


def _follow_list(request, handle: str, direction: str):
    owner = _other(handle)
    if owner.handle != handle:
        return redirect(f"accounts:{direction}", handle=owner.handle)
    before = typed_count(request.GET.get("before", ""))
    context = {
        "author": owner,
        "direction": direction,
        "counts": selectors.follow_counts(user=owner),
        "rows": [],
        "next_before": None,
    }
    try:
        context["rows"], context["next_before"] = selectors.follow_list_page(
            user=owner, viewer=request.user, direction=direction, before=before or None
        )
    except DomainError as exc:
        context["refusal"] = error_message(exc)
        return render(request, "accounts/follow_list.html", context, status=exc.status)
    return render(request, "accounts/follow_list.html", context)


@require_GET
def followers(request, handle: str):
    return _follow_list(request, handle, "followers")


@require_GET
def following(request, handle: str):
    return _follow_list(request, handle, "following")


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
    # Seeing them is reading them: the badge clears, and this page still marks what was new.
    had_unread = any(n.read_at is None for n in items)
    if had_unread:
        services.notification_mark_read(recipient=request.user, up_to_id=items[0].pk)
    return render(
        request, "accounts/notifications.html", {"items": items, "had_unread": had_unread}
    )


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


# --- API tokens -----------------------------------------------------------------------------


def _tokens_page(request, *, form, created=None, status=200):
    return render(
        request,
        "accounts/tokens.html",
        {"form": form, "tokens": selectors.token_list(user=request.user), "created": created},
        status=status,
    )


@login_required
@require_GET
def tokens(request):
    return _tokens_page(request, form=ApiTokenForm())


@login_required
@require_POST
@reauthentication_required
def token_new(request):
    """Create a token; its secret is on this answer only (never stored, never redirected)."""
    form = ApiTokenForm(request.POST)
    if not form.is_valid():
        return _tokens_page(request, form=form, status=400)
    data = form.cleaned_data
    try:
        token, secret = services.token_create(
            user=request.user,
            name=data["name"],
            scopes=data["scopes"],
            expires_in_days=data["expires_in_days"],
        )
    except DomainError as exc:
        form.add_error(None, error_message(exc))
        return _tokens_page(request, form=form, status=400)
    return _tokens_page(request, form=ApiTokenForm(), created={"token": token, "secret": secret})


@login_required
@require_POST
def token_revoke(request):
    """Revoke one token (``token``: its id) or all of them (``all``)."""
    if request.POST.get("all") == "1":
        count = services.token_revoke_all(user=request.user, reason="revoked all (settings page)")
        messages.success(request, _("Revoked %(count)d token(s).") % {"count": count})
        return redirect("accounts:tokens")
    token_id = typed_count(request.POST.get("token", ""))
    try:
        services.token_revoke_for_user(user=request.user, token_id=token_id or 0)
    except NotFound:
        raise Http404 from None
    messages.success(request, _("Token revoked."))
    return redirect("accounts:tokens")


# --- undoing an e-mail change ---------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def email_undo(request, token: str):
    """The link mailed to an address that stopped being the account's. GET explains (a
    mail scanner following links changes nothing); POST takes the account back."""
    template = "accounts/email_undo.html"
    try:
        user, address = services.email_undo_check(token=token)
        if request.method == "GET":
            return render(request, template, {"address": address, "handle": user.handle})
        services.email_change_undo(token=token)
    except DomainError as exc:
        return render(request, template, {"error": error_message(exc)}, status=400)
    return render(request, template, {"done": True, "address": address})


# --- your data: export and closing ----------------------------------------------------------


def _data_page(request, *, close_form=None, close_error=None, status=200):
    recent = exports.export_list(user=request.user, limit=5)
    running = bool(recent) and recent[0].status in (
        DataExport.Status.QUEUED,
        DataExport.Status.BUILDING,
    )
    return render(
        request,
        "accounts/data.html",
        {
            "exports": recent,
            "running": running,
            "blockers": closing.account_close_blockers(user=request.user),
            "close_form": close_form or AccountCloseForm(),
            "close_error": close_error,
            "retention_days": settings.EXPORT_RETENTION_DAYS,
        },
        status=status,
    )


@login_required
@require_GET
def data(request):
    """Your data: ask for an export, download it, or close the account."""
    return _data_page(request)


@login_required
@require_POST
def export_new(request):
    try:
        exports.export_request(
            user=request.user, page_url=request.build_absolute_uri(reverse("accounts:data"))
        )
    except DomainError as exc:
        messages.error(request, error_message(exc))
    else:
        messages.success(
            request,
            _("We are preparing your data. This page shows when it is ready; we e-mail you too."),
        )
    return redirect("accounts:data")


@login_required
@require_GET
def export_status(request, export_id: int):
    """The export's row on the data page (htmx polls it while the export is built)."""
    try:
        export = exports.export_get(user=request.user, export_id=export_id)
    except NotFound:
        raise Http404 from None
    response = render(request, "accounts/_export_row.html", {"export": export})
    if getattr(request, "htmx", False) and export.status in (
        DataExport.Status.READY,
        DataExport.Status.FAILED,
    ):
        # Finished while the page watched: reload it once, so the request button is
        # enabled again beside the download link.
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_GET
def export_download(request, export_id: int):
    """The ZIP, for its owner only (someone else's export is a 404, like a missing one)."""
    try:
        export = exports.export_for_download(user=request.user, export_id=export_id)
    except NotFound:
        raise Http404 from None
    except DomainError as exc:
        messages.error(request, error_message(exc))
        return redirect("accounts:data")
    return export_file_response(export)


@login_required
@require_POST
@reauthentication_required
def account_close(request):
    """Close the account (after a re-authentication), then sign out."""
    form = AccountCloseForm(request.POST)
    if not form.is_valid():
        return _data_page(request, close_form=form, status=400)
    try:
        closing.account_close(user=request.user, confirm_handle=form.cleaned_data["confirm"])
    except DomainError as exc:
        return _data_page(request, close_form=form, close_error=error_message(exc), status=400)
    logout(request)
    messages.success(request, _("Your account is closed. Thank you for having been with us."))
    return redirect("/")
