"""An Atom feed of each person's public posts (Django's syndication framework), for feed
readers: ``/@<handle>/feed.atom``. Only what a visitor without an account sees on the
profile: original posts, not deleted or hidden, and of a paid post only its public text —
the locked part never leaves through a feed."""

from __future__ import annotations

from django.contrib.syndication.views import Feed
from django.http import Http404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext as _

from accounts import selectors as account_selectors
from core.exceptions import NotFound
from posts import selectors
from posts.models import Post

#: A limit on everything: the newest this many posts.
FEED_SIZE = 50
TITLE_LENGTH = 80


class ProfilePostsFeed(Feed):
    feed_type = Atom1Feed

    def get_object(self, request, handle: str):
        try:
            return account_selectors.user_get_by_handle(handle=handle)
        except NotFound:
            raise Http404 from None

    def title(self, author) -> str:
        return _("Posts by %(name)s (@%(handle)s)") % {"name": author.name, "handle": author.handle}

    def subtitle(self, author) -> str:
        return author.bio or _("Public posts by @%(handle)s on SocialPay.") % {
            "handle": author.handle
        }

    def link(self, author) -> str:
        return reverse("posts:profile", args=[author.handle])

    def author_name(self, author) -> str:
        return author.name

    def items(self, author) -> list[Post]:
        qs = selectors.timeline_profile(author=author, viewer=None).filter(repost_of__isnull=True)
        return list(qs[:FEED_SIZE])

    def item_title(self, post: Post) -> str:
        first_line = (post.text or "").strip().splitlines()[0] if post.text.strip() else ""
        return first_line[:TITLE_LENGTH] or _("Post by @%(handle)s") % {
            "handle": post.author.handle
        }

    def item_description(self, post: Post) -> str:
        return post.text  # the public text only: never ``locked_text``

    def item_link(self, post: Post) -> str:
        return reverse("posts:detail", args=[post.pk])

    def item_pubdate(self, post: Post):
        return post.created_at
