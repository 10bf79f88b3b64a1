"""How the API shows a post: its text, the same safe HTML the pages show, and counters."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import UserPublicSerializer
from core.api.money import MoneyOutput
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
    price = serializers.SerializerMethodField(help_text="Unlock price, or null.")
    members_tier = serializers.IntegerField(source="members_tier_id", allow_null=True)
    locked = serializers.SerializerMethodField(
        help_text="Has locked content the viewer can't read."
    )
    locked_text = serializers.SerializerMethodField(
        help_text="Only for the author, people who unlocked it and members of its tier."
    )

    class Meta(PostBriefSerializer.Meta):
        fields = [
            *PostBriefSerializer.Meta.fields,
            "repost_of",
            "viewer",
            "price",
            "members_tier",
            "locked",
            "locked_text",
        ]
        read_only_fields = fields

    @extend_schema_field(MoneyOutput(allow_null=True))
    def get_price(self, obj: Post) -> dict | None:
        if obj.price_amount is None:
            return None
        return {"amount": obj.price_amount, "currency": obj.price_currency}

    def get_locked(self, obj: Post) -> bool:
        return bool(obj.locked_text) and not getattr(obj, "viewer_reads_locked", False)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_locked_text(self, obj: Post) -> str | None:
        if obj.locked_text and getattr(obj, "viewer_reads_locked", False):
            return obj.locked_text
        return None

    @extend_schema_field(ViewerFlagsSerializer(allow_null=True))
    def get_viewer(self, obj: Post) -> dict | None:
        if not hasattr(obj, "viewer_liked"):
            return None
        return {"liked": obj.viewer_liked, "reposted": obj.viewer_reposted}
