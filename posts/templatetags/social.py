"""Template helpers for the social pages: post rendering and the unread badge."""

from types import SimpleNamespace

from django import template

from accounts.selectors import notification_unread_count
from posts.images import image_url
from posts.rendering import render_post_text

register = template.Library()


@register.filter
def post_html(text: str):
    return render_post_text(text or "")


@register.filter
def media_url(name: str) -> str:
    """The URL of a stored photo (``shown_images`` rows carry the storage name)."""
    return image_url(name)


@register.filter
def first_photo(post) -> SimpleNamespace | None:
    """The first photo of the post a row shows, shaped like a stored file (``.url``), for
    link previews; None without photos."""
    rows = getattr(post, "shown_images", None) or []
    return SimpleNamespace(url=image_url(rows[0]["name"])) if rows else None


@register.simple_tag(takes_context=True)
def unread_notifications(context) -> int:
    user = context.get("user")
    if user is None or not user.is_authenticated:
        return 0
    return notification_unread_count(recipient=user)
