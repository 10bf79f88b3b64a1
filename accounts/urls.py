from django.conf import settings
from django.conf.urls.static import static
from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("@<str:handle>/follow", views.follow, name="follow"),
    path("@<str:handle>/followers", views.followers, name="followers"),
    path("@<str:handle>/following", views.following, name="following"),
    path("@<str:handle>/block", views.block, name="block"),
    path("@<str:handle>/mute", views.mute, name="mute"),
    path("notifications", views.notifications, name="notifications"),
    path("notifications/badge", views.notifications_badge, name="notifications-badge"),
    path("settings", views.settings_profile, name="settings"),
    path("settings/language", views.language_set, name="language"),
    path("settings/tokens", views.tokens, name="tokens"),
    path("email/undo/<str:token>", views.email_undo, name="email-undo"),
    path("settings/tokens/new", views.token_new, name="token-new"),
    path("settings/tokens/revoke", views.token_revoke, name="token-revoke"),
    path("settings/data", views.data, name="data"),
    path("settings/data/export", views.export_new, name="export-new"),
    path("settings/data/exports/<int:export_id>", views.export_status, name="export-status"),
    path(
        "settings/data/exports/<int:export_id>/download",
        views.export_download,
        name="export-download",
    ),
    path("settings/close", views.account_close, name="close"),
]
# Avatars in development (static() is empty unless DEBUG); a proxy serves them in production.
urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
