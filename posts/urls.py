from django.urls import path

from posts import embeds, views
from posts.feeds import ProfilePostsFeed

app_name = "posts"
urlpatterns = [
    path("@<str:handle>", views.profile, name="profile"),
    path("@<str:handle>/feed.atom", ProfilePostsFeed(), name="feed"),
    path("posts/new", views.post_new, name="new"),
    path("posts/<int:post_id>", views.post_detail, name="detail"),
    path("posts/<int:post_id>/like", views.post_like, name="like"),
    path("posts/<int:post_id>/repost", views.post_repost, name="repost"),
    path("posts/<int:post_id>/delete", views.post_delete, name="delete"),
    path("posts/<int:post_id>/report", views.post_report, name="report"),
    path("search", views.search, name="search"),
    path("embed/posts/<int:post_id>", embeds.post_embed, name="embed"),
    path("oembed", embeds.oembed, name="oembed"),
]
