"""The sitemap (``django.contrib.sitemaps``): public profiles and their original posts,
leaving out everyone who asked search engines not to list them (``search_indexing``)."""

from __future__ import annotations

from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from accounts.models import User
from posts.models import Post


class ProfileSitemap(Sitemap):
    changefreq = "daily"
    limit = 10_000

    def items(self):
        return (
            User.objects.filter(is_active=True, search_indexing=True).only("handle").order_by("id")
        )

    def location(self, user) -> str:
        return reverse("posts:profile", args=[user.handle])


class PostSitemap(Sitemap):
    changefreq = "never"
    limit = 10_000

    def items(self):
        return (
            Post.objects.filter(
                deleted_at__isnull=True,
                hidden_at__isnull=True,
                reply_to__isnull=True,
                repost_of__isnull=True,
                author__is_active=True,
                author__search_indexing=True,
            )
            .only("id", "created_at")
            .order_by("id")
        )

    def location(self, post) -> str:
        return reverse("posts:detail", args=[post.pk])

    def lastmod(self, post):
        return post.created_at


SITEMAPS = {"profiles": ProfileSitemap, "posts": PostSitemap}
