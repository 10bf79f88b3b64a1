"""How the API shows a post: its text, the same safe HTML the pages show, and counters."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import UserPublicSerializer
from posts.models import Post
from posts.rendering import render_post_text


class ViewerFlagsSerializer(serializers.Serializer):
    liked = serializers.BooleanField()
    reposted = serializers.BooleanField()


class PostBriefSerializer(serializers.ModelSerializer):
    author = UserPublicSerializer()
    html = serializers.SerializerMethodField(help_text="Safe HTML: links, mentions, hashtags.")

    class Meta:
        model = Post
        fields = [
            "id",
            "author",
            "text",
            "html",
            "created_at",
            "reply_to",
            "thread_root",
            "like_count",
            "reply_count",
            "repost_count",
        ]
        read_only_fields = fields

    def get_html(self, obj: Post) -> str:
        return str(render_post_text(obj.text))


class PostSerializer(PostBriefSerializer):
    repost_of = PostBriefSerializer(allow_null=True)
    viewer = serializers.SerializerMethodField()

    class Meta(PostBriefSerializer.Meta):
        fields = [*PostBriefSerializer.Meta.fields, "repost_of", "viewer"]
        read_only_fields = fields

    @extend_schema_field(ViewerFlagsSerializer(allow_null=True))
    def get_viewer(self, obj: Post) -> dict | None:
        if not hasattr(obj, "viewer_liked"):
            return None
        return {"liked": obj.viewer_liked, "reposted": obj.viewer_reposted}
