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
from core.counts import typed_count
from core.error_messages import error_message
from core.exceptions import DomainError, NotFound
from core.money import Money, supported_currencies
from posts import publishing, selectors, services
from posts.images import ImageUpload, PreparedImage, image_prepare, images_prepare
from posts.models import POST_IMAGES_MAX
from posts.profile_tabs import profile_tabs_shown

#: The composer's photo slots: ``image_1`` + ``alt_1`` … (a page has no JavaScript to pair
#: a multiple file input with alt texts).
PHOTO_SLOTS = range(1, POST_IMAGES_MAX + 1)
#: Which part of the composer an error's ``details["field"]`` belongs to.
LOCK_FIELDS = {"locked_text", "price", "members_tier"}
PRODUCT_FIELDS = {"title", "description", "stock", "kind", "url", "delivery_url"}


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
        posts, next_before = selectors.public_page(viewer=None, before=_before(request), size=size)
        template = "posts/welcome.html"
    if request.htmx and request.GET.get("before"):
        template = "posts/_page.html"
    context = {"posts": posts, "next_before": next_before}
    if request.user.is_authenticated:
        context.update(composer_context(request))
    return render(request, template, context)


def profile(request, handle: str):
    """A person's profile: the header, then tabs: their posts (the default) and those other
    apps register in ``posts.profile_tabs`` (shown only when they have content). Tabs are
    links (``?tab=shop``); with htmx only the tabs and the open panel are swapped."""
    try:
        author = account_selectors.user_get_by_handle(handle=handle)
    except NotFound:
        raise Http404 from None
    if author.handle != handle:
        return redirect("posts:profile", handle=author.handle)
    if request.htmx and request.GET.get("before") and not request.GET.get("tab"):
        # Infinite scroll: only the next page (no profile header, counts or relationship).
        posts, next_before = _profile_posts(request, author)
        return render(request, "posts/_page.html", {"posts": posts, "next_before": next_before})
    tabs = profile_tabs_shown(author=author)
    # An unknown tab, or one with nothing in it (any more), shows the posts.
    tab = next((t for t in tabs if t.key == request.GET.get("tab")), None)
    context = {"author": author, "tabs": tabs, "tab": tab}
    if tab is None:
        context["posts"], context["next_before"] = _profile_posts(request, author)
    else:
        context.update(tab.context(author, request.user, _before(request)))
    if request.htmx and request.htmx.target == "profile-panel":
        return render(request, "posts/_profile_panel.html", context)
    context["counts"] = account_selectors.follow_counts(user=author)
    context["rel"] = account_selectors.relationship(viewer=request.user, other=author)
    return render(request, "posts/profile.html", context)


def _profile_posts(request, author):
    return selectors.profile_page(
        author=author,
        viewer=request.user,
        before=_before(request),
        size=selectors.PAGE_SIZE_DEFAULT,
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
            **composer_context(request, reply_to=post.pk),
        },
    )


class _ComposerError(Exception):
    """A refusal and the part of the composer it belongs to (where the message is shown)."""

    def __init__(self, exc: DomainError, part: str):
        self.exc, self.part = exc, part


def _composer_photos(request) -> list[tuple[int, ImageUpload]]:
    """(slot, upload) for every slot with a file; alt text typed without a file is ignored."""
    return [
        (
            slot,
            ImageUpload(
                file=request.FILES[f"image_{slot}"], alt=request.POST.get(f"alt_{slot}", "")
            ),
        )
        for slot in PHOTO_SLOTS
        if request.FILES.get(f"image_{slot}")
    ]


def _composer_product_photo(request) -> PreparedImage | None:
    """The product's one photo, re-encoded like a post's, or None without a file.
    Raises ``DomainError``."""
    upload = request.FILES.get("product_photo")
    if not upload:
        return None
    return image_prepare(
        upload=ImageUpload(file=upload, alt=request.POST.get("product_photo_alt", "")),
        field="product_photo",
    )


def _composer_extras(request) -> publishing.PostExtras:
    """The lock and the product, when their fields were filled in (typed amounts in the
    page's number format). Raises ``_ComposerError``."""
    form = request.POST
    locked_text = form.get("locked_text", "")
    price = None
    if form.get("price", "").strip():
        try:
            price = Money.parse_typed(form["price"], form.get("currency"))
        except DomainError as exc:
            raise _ComposerError(exc, "lock") from None
    product = None
    if any(form.get(f"product_{name}", "").strip() for name in ("title", "price")):
        try:
            stock = typed_count(form.get("product_stock", ""))
            product = publishing.ProductDraft(
                title=form.get("product_title", ""),
                description=form.get("product_description", ""),
                price=Money.parse_typed(
                    form.get("product_price", ""), form.get("product_currency")
                ),
                stock=-1 if stock is None else stock,
                kind=form.get("product_kind", ""),
                delivery_url=form.get("product_delivery_url", ""),
                photo=_composer_product_photo(request),
            )
        except DomainError as exc:
            raise _ComposerError(exc, "product") from None
    return publishing.PostExtras(locked_text=locked_text, price=price, product=product)


def _composer_publish(request, reply_to_id: int | None):
    """Publish what the composer sent. Raises ``_ComposerError``."""
    photos = _composer_photos(request)
    try:
        images = images_prepare(uploads=[upload for _slot, upload in photos])
    except DomainError as exc:
        index = exc.details.get("index")
        part = f"photo_{photos[index][0]}" if index is not None else "photos"
        raise _ComposerError(exc, part) from None
    extras = _composer_extras(request) if reply_to_id is None else publishing.PostExtras()
    text = request.POST.get("text", "")
    try:
        if extras:
            return publishing.paid_post_publish(
                author=request.user,
                text=text,
                reply_to_id=reply_to_id,
                extras=extras,
                images=images,
            )
        return services.post_create(
            author=request.user, text=text, reply_to_id=reply_to_id, images=images
        )
    except DomainError as exc:
        field = exc.details.get("field")
        part = exc.details.get("part") or (
            "lock" if field in LOCK_FIELDS else "product" if field in PRODUCT_FIELDS else "text"
        )
        raise _ComposerError(exc, part) from None


def composer_context(request, *, form=None, error: str = "", error_part: str = "", **extra) -> dict:
    """What ``posts/_composer.html`` needs: the currencies, the photo slots with the alt
    texts typed, which options are open (those filled in or refused) and the error."""
    form = form if form is not None else {}
    slots = [
        {
            "n": n,
            "alt": form.get(f"alt_{n}", ""),
            "error": error if error_part == f"photo_{n}" else "",
        }
        for n in PHOTO_SLOTS
    ]
    open_parts = set()
    if error_part.startswith("photo") or any(slot["alt"] for slot in slots):
        open_parts.add("photos")
    if error_part == "lock" or form.get("locked_text") or form.get("price"):
        open_parts.add("lock")
    if error_part == "product" or form.get("product_title") or form.get("product_price"):
        open_parts.add("product")
    return {
        "currencies": supported_currencies(),
        "photo_slots": slots,
        "open_parts": open_parts,
        "form": form,
        "error": error,
        "error_part": error_part,
        **extra,
    }


@login_required
@require_POST
def post_new(request):
    reply_to = typed_count(request.POST.get("reply_to") or "") or None
    try:
        post = _composer_publish(request, reply_to)
    except _ComposerError as refusal:
        message = error_message(refusal.exc)
        # Everything typed comes back (a browser cannot refill file inputs: the photos
        # are chosen again; their alt texts are kept).
        context = composer_context(
            request,
            error=message,
            error_part=refusal.part,
            form=request.POST,
            reply_to=reply_to,
        )
        # Without htmx (and for replies, which post from the post's page) the composer
        # comes back on a page of its own, with the error beside the part that was wrong.
        template = "posts/_composer.html" if request.htmx else "posts/compose.html"
        return render(request, template, context, status=refusal.exc.status)
    if request.htmx:
        post = selectors.post_get(post_id=post.pk, viewer=request.user)
        return render(request, "posts/_composer.html", composer_context(request, new_post=post))
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
