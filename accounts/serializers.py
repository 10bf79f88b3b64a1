"""What the API shows of a person. Input serializers live beside their views in api.py."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import ApiToken, Notification, User
from core.api.objects import ObjectField
from core.api.serializers import FieldsOnceModelSerializer


class UserPublicSerializer(FieldsOnceModelSerializer):
    object = ObjectField("user")
    avatar_url = serializers.SerializerMethodField()
    # Not the model's URLField: a profile without a link answers "", which is no URI.
    link = serializers.CharField(read_only=True, help_text="A URL, or empty.")

    class Meta:
        model = User
        fields = ["object", "handle", "display_name", "bio", "link", "avatar_url", "date_joined"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_avatar_url(self, obj: User) -> str | None:
        return obj.avatar.url if obj.avatar else None


class RelationshipSerializer(serializers.Serializer):
    following = serializers.BooleanField()
    followed_by = serializers.BooleanField()
    blocking = serializers.BooleanField()
    blocked_by = serializers.BooleanField()
    muting = serializers.BooleanField()


class UserProfileSerializer(UserPublicSerializer):
    """A profile page: the public fields, counts and how the viewer relates to them."""

    followers = serializers.IntegerField(source="counts.followers")
    following = serializers.IntegerField(source="counts.following")
    relationship = RelationshipSerializer()

    class Meta(UserPublicSerializer.Meta):
        fields = [*UserPublicSerializer.Meta.fields, "followers", "following", "relationship"]
        read_only_fields = fields


class FollowListEntrySerializer(serializers.Serializer):
    """One row of a followers or following list."""

    person = UserPublicSerializer()
    since = serializers.DateTimeField(source="created_at", help_text="When the follow began.")
    viewer_follows = serializers.BooleanField(
        allow_null=True, help_text="Whether you follow this person; null when signed out."
    )


class MeSerializer(UserPublicSerializer):
    email_verified = serializers.BooleanField()
    mfa_enabled = serializers.BooleanField()

    class Meta(UserPublicSerializer.Meta):
        fields = [
            *UserPublicSerializer.Meta.fields,
            "email",
            "email_verified",
            "mfa_enabled",
            "language",
            "search_indexing",
        ]
        read_only_fields = fields


@extend_schema_field(
    {
        "type": "object",
        "description": "Details of the notification's kind (an amount, a note, an id…).",
        "additionalProperties": {
            "nullable": True,
            "anyOf": [
                {"type": "string"},
                {"type": "number"},
                {"type": "boolean"},
                {"$ref": "#/components/schemas/Money"},
            ],
        },
    }
)
class NotificationDataField(serializers.JSONField):
    pass


class NotificationSerializer(FieldsOnceModelSerializer):
    object = ObjectField("notification")
    actor = UserPublicSerializer(allow_null=True)
    data = NotificationDataField(read_only=True)

    class Meta:
        model = Notification
        fields = [
            "object",
            "id",
            "kind",
            "actor",
            "target_type",
            "target_id",
            "data",
            "created_at",
            "read_at",
        ]
        read_only_fields = fields


class ApiTokenSerializer(FieldsOnceModelSerializer):
    """A token as its owner sees it: never the secret (shown once, at creation)."""

    object = ObjectField("api_token")
    scopes = serializers.ListField(child=serializers.CharField())
    current = serializers.BooleanField(default=False, help_text="The token of this request.")

    class Meta:
        model = ApiToken
        fields = [
            "object",
            "id",
            "name",
            "prefix",
            "scopes",
            "created_at",
            "expires_at",
            "last_used_at",
            "current",
        ]
        read_only_fields = fields
