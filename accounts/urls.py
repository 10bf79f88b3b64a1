from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("@<str:handle>/follow", views.follow, name="follow"),
    path("@<str:handle>/block", views.block, name="block"),
    path("@<str:handle>/mute", views.mute, name="mute"),
    path("notifications", views.notifications, name="notifications"),
    path("settings", views.settings_profile, name="settings"),
]
