"""Moderation: posts (hide/unhide through services) and the reports queue."""

from django.contrib import admin, messages

from posts import services
from posts.models import Post, PostImage, Report


class PostImageInline(admin.TabularInline):
    """The photos as stored (re-encoded), for moderators to see what a post shows."""

    model = PostImage
    fields = ["position", "image", "width", "height", "alt"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ["id", "author", "text", "created_at", "hidden_at", "deleted_at"]
    list_filter = ["hidden_at", "deleted_at"]
    search_fields = ["author__handle_key", "text"]
    list_select_related = ["author"]
    raw_id_fields = ["author", "reply_to", "thread_root", "repost_of", "hidden_by"]
    readonly_fields = [f.name for f in Post._meta.fields]
    actions = ["hide", "unhide"]
    inlines = [PostImageInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Hide selected posts (closes their open reports)")
    def hide(self, request, queryset):
        for post in queryset:
            services.post_hide(post_id=post.pk, staff=request.user)
        messages.success(request, "Hidden.")

    @admin.action(description="Unhide selected posts")
    def unhide(self, request, queryset):
        for post in queryset:
            services.post_unhide(post_id=post.pk, staff=request.user)
        messages.success(request, "Visible again.")


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ["id", "status", "post", "reporter", "reason", "created_at"]
    list_filter = ["status"]
    list_select_related = ["post__author", "reporter"]
    readonly_fields = [f.name for f in Report._meta.fields]
    actions = ["hide_post", "dismiss"]

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("status", "-id")

    def has_add_permission(self, request):
        return False

    @admin.action(description="Hide the reported post")
    def hide_post(self, request, queryset):
        for report in queryset:
            services.post_hide(post_id=report.post_id, staff=request.user)
        messages.success(request, "Post(s) hidden; reports closed.")

    @admin.action(description="Dismiss (no action)")
    def dismiss(self, request, queryset):
        for report in queryset:
            services.report_dismiss(report_id=report.pk, staff=request.user)
        messages.success(request, "Dismissed.")
