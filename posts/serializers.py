"""How the API shows a post: its text, the same safe HTML the pages show, its photos and
counters."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import UserPublicSerializer
from core.api.money import MoneyOutput
from core.api.objects import ObjectField
from core.api.serializers import FieldsOnceModelSerializer
from posts.images import image_url
from posts.models import Post
from posts.rendering import render_post_text


class ViewerFlagsSerializer(serializers.Serializer):
    liked = serializers.BooleanField()
    reposted = serializers.BooleanField()


class PostImageSerializer(serializers.Serializer):
    url = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    alt = serializers.CharField()


def _images(rows: list[dict] | None) -> list[dict]:
    """The selectors' ``shown_images`` rows as the API shows them."""
    return [
        {"url": image_url(r["name"]), "width": r["width"], "height": r["height"], "alt": r["alt"]}
        for r in rows or []
    ]


class PostBriefSerializer(FieldsOnceModelSerializer):
    object = ObjectField("post")
    author = UserPublicSerializer()
    html = serializers.SerializerMethodField(help_text="Safe HTML: links, mentions, hashtags.")
    images = serializers.SerializerMethodField(help_text="Photos, in order, re-encoded.")

    class Meta:
        model = Post
        fields = [
            "object",
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
            "images",
        ]
        read_only_fields = fields

    def get_html(self, obj: Post) -> str:
        return str(render_post_text(obj.text))

    @extend_schema_field(PostImageSerializer(many=True))
    def get_images(self, obj: Post) -> list[dict]:
        # A row's ``shown_images`` are those of the post it shows: a repost has none of
        # its own (its original's come with ``repost_of``, see PostSerializer).
        if obj.repost_of_id is not None:
            return []
        return _images(getattr(obj, "shown_images", None))


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

    def to_representation(self, instance: Post) -> dict:
        data = super().to_representation(instance)
        if instance.repost_of_id is not None and data.get("repost_of"):
            data["repost_of"]["images"] = _images(getattr(instance, "shown_images", None))
        return data

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
