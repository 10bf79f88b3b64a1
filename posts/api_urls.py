"""REST API v1 endpoints of this app, mounted under /api/v1/."""

from django.urls import path

from posts import api

urlpatterns = [
    path("posts", api.PostListApi.as_view(), name="api-posts"),
    path("posts/<int:post_id>", api.PostDetailApi.as_view(), name="api-post"),
    path("posts/<int:post_id>/like", api.PostLikeApi.as_view(), name="api-post-like"),
    path("posts/<int:post_id>/repost", api.PostRepostApi.as_view(), name="api-post-repost"),
    path("posts/<int:post_id>/replies", api.PostRepliesApi.as_view(), name="api-post-replies"),
    path("posts/<int:post_id>/report", api.PostReportApi.as_view(), name="api-post-report"),
    path("timeline", api.TimelineApi.as_view(), name="api-timeline"),
    path("users/<str:handle>/posts", api.UserPostsApi.as_view(), name="api-user-posts"),
]
