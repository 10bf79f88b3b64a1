"""Pages for posts: home (timeline + composer, or a welcome page), profiles, a post with
its thread, search. Every form posts normally and redirects; with htmx the same endpoints
answer with the fragment to swap in.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import selectors as account_selectors
from core.error_messages import error_message
from core.exceptions import DomainError, NotFound
from posts import selectors, services


def _before(request) -> int | None:
    try:
        value = int(request.GET.get("before", ""))
    except ValueError:
        return None
    return value if value > 0 else None


def _after(request) -> int | None:
    """A thread page's cursor: replies with an id above it come next."""
    try:
        value = int(request.GET.get("after", ""))
    except ValueError:
        return None
    return value if value > 0 else None


def _back(request, fallback: str):
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(fallback)


def home(request):
    size = selectors.clamp_page_size(request.GET.get("page_size"))
    if request.user.is_authenticated:
        posts, next_before = selectors.timeline_home_page(
            viewer=request.user, before=_before(request), size=size
        )
        template = "posts/home.html"
    else:
        posts, next_before = selectors.page_before(
            selectors.timeline_public(), before=_before(request), size=size
        )
        template = "posts/welcome.html"
    if request.htmx and request.GET.get("before"):
        template = "posts/_page.html"
    return render(request, template, {"posts": posts, "next_before": next_before})


def profile(request, handle: str):
    try:
        author = account_selectors.user_get_by_handle(handle=handle)
    except NotFound:
        raise Http404 from None
    if author.handle != handle:
        return redirect("posts:profile", handle=author.handle)
    posts, next_before = selectors.page_before(
        selectors.timeline_profile(author=author, viewer=request.user),
        before=_before(request),
        size=selectors.PAGE_SIZE_DEFAULT,
    )
    if request.htmx and request.GET.get("before"):
        # Infinite scroll: only the next page (no profile header, counts or relationship).
        return render(request, "posts/_page.html", {"posts": posts, "next_before": next_before})
    return render(
        request,
        "posts/profile.html",
        {
            "author": author,
            "counts": account_selectors.follow_counts(user=author),
            "rel": account_selectors.relationship(viewer=request.user, other=author),
            "posts": posts,
            "next_before": next_before,
        },
    )


def post_detail(request, post_id: int):
    try:
        post = selectors.post_get(post_id=post_id, viewer=request.user)
    except NotFound:
        raise Http404 from None
    root, replies = selectors.post_thread(
        post=post, viewer=request.user, after=_after(request), limit=selectors.THREAD_PAGE_SIZE + 1
    )
    later = replies[-2].pk if len(replies) > selectors.THREAD_PAGE_SIZE else None
    return render(
        request,
        "posts/detail.html",
        {
            "post": post,
            "root": root,
            "replies": replies[: selectors.THREAD_PAGE_SIZE],
            "later_replies_after": later,
        },
    )


@login_required
@require_POST
def post_new(request):
    reply_to = request.POST.get("reply_to") or None
    try:
        post = services.post_create(
            author=request.user,
            text=request.POST.get("text", ""),
            reply_to_id=int(reply_to) if reply_to and reply_to.isdigit() else None,
        )
    except DomainError as exc:
        messages.error(request, error_message(exc))
        if request.htmx:
            return render(
                request,
                "posts/_composer.html",
                {"error": error_message(exc), "text": request.POST.get("text", "")[:2000]},
                status=400,
            )
        return _back(request, "home")
    if request.htmx:
        post = selectors.post_get(post_id=post.pk, viewer=request.user)
        return render(request, "posts/_composer.html", {"new_post": post})
    messages.success(request, _("Posted."))
    return _back(request, "home")


def _interaction(request, post_id: int, action):
    try:
        action()
    except DomainError as exc:
        if request.htmx:
            context = {"message": error_message(exc)}
            return render(request, "posts/_error.html", context, status=exc.status)
        messages.error(request, error_message(exc))
        return _back(request, "home")
    if request.htmx:
        try:
            post = selectors.post_get(post_id=post_id, viewer=request.user)
        except NotFound:
            return render(request, "posts/_error.html", {"message": _("Post removed.")})
        return render(request, "posts/_actions.html", {"post": post})
    return _back(request, "home")


@login_required
@require_POST
def post_like(request, post_id: int):
    undo = request.POST.get("undo") == "1"

    def act():
        if undo:
            services.like_delete(user=request.user, post_id=post_id)
        else:
            services.like_create(user=request.user, post_id=post_id)

    return _interaction(request, post_id, act)


@login_required
@require_POST
def post_repost(request, post_id: int):
    undo = request.POST.get("undo") == "1"

    def act():
        if undo:
            services.repost_delete(user=request.user, post_id=post_id)
        else:
            services.repost_create(user=request.user, post_id=post_id)

    return _interaction(request, post_id, act)


@login_required
@require_POST
def post_delete(request, post_id: int):
    try:
        services.post_delete(post_id=post_id, actor=request.user)
    except DomainError as exc:
        messages.error(request, error_message(exc))
    else:
        messages.success(request, _("Post deleted."))
    return redirect("home")


@login_required
@require_POST
def post_report(request, post_id: int):
    try:
        services.report_create(
            reporter=request.user, post_id=post_id, reason=request.POST.get("reason", "")
        )
    except DomainError as exc:
        messages.error(request, error_message(exc))
    else:
        messages.success(request, _("Thanks: staff will look at this post."))
    return _back(request, "home")


def search(request):
    query = request.GET.get("q", "").strip()[:100]
    next_before = None
    if query.startswith("#"):
        people = []
        posts, next_before = selectors.post_search_hashtag(
            tag=query,
            viewer=request.user,
            before=_before(request),
            size=selectors.PAGE_SIZE_DEFAULT,
        )
    else:
        people, posts = account_selectors.user_search(query=query), []
    context = {
        "q": query,
        "people": people,
        "posts": posts,
        "next_before": next_before,
        "more_query": urlencode({"q": query}) + "&",
    }
    if request.htmx and request.GET.get("before"):
        return render(request, "posts/_page.html", context)
    return render(request, "posts/search.html", context)
