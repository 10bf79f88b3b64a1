"""REST API v1 endpoints of this app, mounted under /api/v1/."""

from django.urls import path

from accounts import api

urlpatterns = [
    path("auth/signup", api.SignupApi.as_view(), name="api-signup"),
    path("auth/token", api.TokenApi.as_view(), name="api-token"),
    path("auth/reauthenticate", api.ReauthenticateApi.as_view(), name="api-reauthenticate"),
    path("auth/tokens", api.ApiTokenListApi.as_view(), name="api-tokens"),
    path(
        "auth/tokens/revoke-all", api.ApiTokenRevokeAllApi.as_view(), name="api-tokens-revoke-all"
    ),
    path("auth/tokens/<int:token_id>", api.ApiTokenDetailApi.as_view(), name="api-token-detail"),
    path("me", api.MeApi.as_view(), name="api-me"),
    path("me/avatar", api.MeAvatarApi.as_view(), name="api-me-avatar"),
    path("me/exports", api.MeExportListApi.as_view(), name="api-me-exports"),
    path("me/exports/<int:export_id>", api.MeExportDetailApi.as_view(), name="api-me-export"),
    path(
        "me/exports/<int:export_id>/download",
        api.MeExportDownloadApi.as_view(),
        name="api-me-export-download",
    ),
    path("me/close", api.MeCloseApi.as_view(), name="api-me-close"),
    path("users", api.UserSearchApi.as_view(), name="api-user-search"),
    path("users/<str:handle>", api.UserDetailApi.as_view(), name="api-user"),
    path("users/<str:handle>/follow", api.UserFollowApi.as_view(), name="api-user-follow"),
    path("users/<str:handle>/followers", api.UserFollowersApi.as_view(), name="api-user-followers"),
    path("users/<str:handle>/following", api.UserFollowingApi.as_view(), name="api-user-following"),
    path("users/<str:handle>/block", api.UserBlockApi.as_view(), name="api-user-block"),
    path("users/<str:handle>/mute", api.UserMuteApi.as_view(), name="api-user-mute"),
    path("notifications", api.NotificationListApi.as_view(), name="api-notifications"),
    path("notifications/read", api.NotificationReadApi.as_view(), name="api-notifications-read"),
    path(
        "notifications/unread-count",
        api.NotificationUnreadCountApi.as_view(),
        name="api-notifications-unread",
    ),
]
