"""REST API for posts: publish, read, delete, like, repost, reply, report, timelines.

Lists are cursor-paginated newest first in the one list shape (``core.api.pagination``);
``limit`` is clamped to 1..100 (a larger or nonsensical value is not an error, it just gets
the nearest allowed page).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import ERROR
from accounts.api_inputs import StrictSerializer, TextField, UnknownField, parse
from accounts.selectors import user_get_by_handle
from core.api.objects import object_field
from core.api.pagination import LIST_PARAMETERS, CursorPagination, list_of
from core.api.parsers import StrictJSONParser
from core.exceptions import InvalidChoice
from core.money import InvalidAmount, Money
from posts import publishing, selectors, services
from posts.images import ImageUpload, images_prepare
from posts.models import POST_IMAGES_MAX
from posts.serializers import PostSerializer

PAGE_PARAMS = LIST_PARAMETERS
TimelinePage = list_of(PostSerializer, "TimelinePage")


class PostCreateInput(StrictSerializer):
    text = TextField(max_length=2000, trim_whitespace=False, allow_blank=True)
    reply_to = serializers.IntegerField(min_value=1, required=False)
    # Photos (multipart only): ``images`` and ``alt`` repeated, paired in order.
    images = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True, use_url=False),
        required=False,
        # No max_length here: the service answers ``too_many_images`` for any count.
        help_text=f"Up to {POST_IMAGES_MAX} photos (JPEG, PNG, WebP or GIF), multipart only.",
    )
    alt = serializers.ListField(
        child=serializers.CharField(max_length=2000, allow_blank=True, trim_whitespace=False),
        required=False,
        help_text="Alt text of each photo, in the same order (required for each).",
    )
    # Paid content and a product (payments.creators): checked before anything is written.
    locked_text = serializers.CharField(
        max_length=10000, trim_whitespace=False, allow_blank=True, required=False
    )
    price = serializers.JSONField(required=False, help_text="{amount, currency}")
    members_tier = serializers.IntegerField(min_value=1, required=False)
    product = serializers.JSONField(
        required=False,
        help_text="{title, price: {amount, currency}, stock, kind: digital|physical, "
        "description?, delivery_url?}",
    )


PRODUCT_KEYS = {"title", "price", "stock", "kind", "description", "delivery_url"}


def _money_payload(value) -> Money:
    """``{"amount": 1050, "currency": "USD"}`` → Money (strict: extra keys refused)."""
    if not isinstance(value, dict) or set(value) != {"amount", "currency"}:
        raise InvalidAmount(_("A price is an object {amount, currency} in minor units."))
    return Money.from_minor(value["amount"], value["currency"])


def _product_payload(value) -> publishing.ProductDraft:
    if not isinstance(value, dict):
        raise InvalidChoice(_("A product is an object."), details={"field": "product"})
    unknown = sorted(set(value) - PRODUCT_KEYS)
    if unknown:
        raise UnknownField(details={"fields": [f"product.{key}" for key in unknown]})
    stock = value.get("stock")
    if type(stock) is not int:
        raise InvalidChoice(details={"field": "stock"})
    return publishing.ProductDraft(
        title=value.get("title", ""),
        price=_money_payload(value.get("price")),
        stock=stock,
        kind=value.get("kind", ""),
        description=value.get("description", ""),
        delivery_url=value.get("delivery_url", ""),
    )


def _extras(data: dict) -> publishing.PostExtras:
    return publishing.PostExtras(
        locked_text=data.get("locked_text", ""),
        price=_money_payload(data["price"]) if "price" in data else None,
        members_tier_id=data.get("members_tier"),
        product=_product_payload(data["product"]) if "product" in data else None,
    )


def _uploads(data: dict) -> list[ImageUpload]:
    files, alts = data.get("images", []), data.get("alt", [])
    if len(alts) > len(files):
        raise InvalidChoice(
            _("There is alt text for more photos than were sent."), details={"field": "alt"}
        )
    return [ImageUpload(file=f, alt=alts[i] if i < len(alts) else "") for i, f in enumerate(files)]


class ReplyInput(StrictSerializer):
    text = TextField(max_length=2000, trim_whitespace=False, allow_blank=True)


class PostListApi(APIView):
    # JSON, or multipart when the post carries photos.
    parser_classes = [StrictJSONParser, MultiPartParser]

    def get_permissions(self):
        return [AllowAny()] if self.request.method == "GET" else super().get_permissions()

    @extend_schema(
        operation_id="posts_list",
        parameters=PAGE_PARAMS,
        responses={200: TimelinePage},
        summary="Recent public posts",
    )
    def get(self, request):
        paginator = CursorPagination()
        before, limit = paginator.keyset_request(request)
        posts, next_before = selectors.public_page(viewer=request.user, before=before, size=limit)
        return paginator.keyset_response(
            PostSerializer(posts, many=True).data, next_before=next_before
        )

    @extend_schema(
        operation_id="posts_create",
        request={
            "application/json": PostCreateInput,
            "multipart/form-data": PostCreateInput,
        },
        responses={201: PostSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
        summary="Publish a post (or a reply, with `reply_to`), with photos as multipart",
    )
    def post(self, request):
        data = parse(PostCreateInput, request.data)
        extras = _extras(data)
        # Photos are checked and re-encoded before anything is written.
        images = images_prepare(uploads=_uploads(data))
        text = data["text"]
        if extras:
            # One service, one transaction: the post, its photos and what it sells, or none.
            post = publishing.paid_post_publish(
                author=request.user,
                text=text,
                reply_to_id=data.get("reply_to"),
                extras=extras,
                images=images,
            )
        else:
            post = services.post_create(
                author=request.user, text=text, reply_to_id=data.get("reply_to"), images=images
            )
        post = selectors.post_get(post_id=post.pk, viewer=request.user)
        return Response(PostSerializer(post).data, status=status.HTTP_201_CREATED)


class PostDetailApi(APIView):
    def get_permissions(self):
        return [AllowAny()] if self.request.method == "GET" else super().get_permissions()

    @extend_schema(operation_id="posts_get", responses={200: PostSerializer, 404: ERROR})
    def get(self, request, post_id: int):
        return Response(
            PostSerializer(selectors.post_get(post_id=post_id, viewer=request.user)).data
        )

    @extend_schema(operation_id="posts_delete", responses={204: None, 404: ERROR})
    def delete(self, request, post_id: int):
        services.post_delete(post_id=post_id, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PostLikeApi(APIView):
    @extend_schema(
        operation_id="posts_like",
        request=None,
        responses={200: PostSerializer, 404: ERROR, 403: ERROR},
    )
    def post(self, request, post_id: int):
        services.like_create(user=request.user, post_id=post_id)
        return Response(
            PostSerializer(selectors.post_get(post_id=post_id, viewer=request.user)).data
        )

    @extend_schema(
        operation_id="posts_unlike", request=None, responses={200: PostSerializer, 404: ERROR}
    )
    def delete(self, request, post_id: int):
        services.like_delete(user=request.user, post_id=post_id)
        return Response(
            PostSerializer(selectors.post_get(post_id=post_id, viewer=request.user)).data
        )


class PostRepostApi(APIView):
    @extend_schema(
        operation_id="posts_repost",
        request=None,
        responses={201: PostSerializer, 404: ERROR, 403: ERROR},
    )
    def post(self, request, post_id: int):
        repost = services.repost_create(user=request.user, post_id=post_id)
        repost = selectors.post_get(post_id=repost.pk, viewer=request.user)
        return Response(PostSerializer(repost).data, status=status.HTTP_201_CREATED)

    @extend_schema(operation_id="posts_unrepost", request=None, responses={204: None})
    def delete(self, request, post_id: int):
        services.repost_delete(user=request.user, post_id=post_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PostRepliesApi(APIView):
    def get_permissions(self):
        return [AllowAny()] if self.request.method == "GET" else super().get_permissions()

    @extend_schema(
        operation_id="posts_thread",
        responses={
            200: inline_serializer(
                "Thread",
                {
                    "root": PostSerializer(allow_null=True),
                    "post": PostSerializer(),
                    "replies": PostSerializer(many=True),
                },
            ),
            404: ERROR,
        },
        summary="The post, the first post of its thread and every reply in the thread",
    )
    def get(self, request, post_id: int):
        post = selectors.post_get(post_id=post_id, viewer=request.user)
        root, replies = selectors.post_thread(post=post, viewer=request.user)
        return Response(
            {
                "root": PostSerializer(root).data if root else None,
                "post": PostSerializer(post).data,
                "replies": PostSerializer(replies, many=True).data,
            }
        )

    @extend_schema(
        operation_id="posts_reply",
        request=ReplyInput,
        responses={201: PostSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
    )
    def post(self, request, post_id: int):
        data = parse(ReplyInput, request.data)
        reply = services.post_create(author=request.user, text=data["text"], reply_to_id=post_id)
        reply = selectors.post_get(post_id=reply.pk, viewer=request.user)
        return Response(PostSerializer(reply).data, status=status.HTTP_201_CREATED)


class ReportInput(StrictSerializer):
    reason = TextField(max_length=1000, required=False, allow_blank=True)


class PostReportApi(APIView):
    @extend_schema(
        operation_id="posts_report",
        request=ReportInput,
        responses={
            201: inline_serializer(
                "ReportOutput", {"object": object_field("report"), "id": serializers.IntegerField()}
            ),
            404: ERROR,
            409: ERROR,
        },
    )
    def post(self, request, post_id: int):
        data = parse(ReportInput, request.data)
        report = services.report_create(
            reporter=request.user, post_id=post_id, reason=data.get("reason", "")
        )
        return Response({"object": "report", "id": report.pk}, status=status.HTTP_201_CREATED)


class TimelineApi(APIView):
    @extend_schema(
        operation_id="timeline_home",
        parameters=PAGE_PARAMS,
        responses={200: TimelinePage, 401: ERROR, 404: ERROR},
        summary="Home timeline: own posts and those of followed people, newest first",
    )
    def get(self, request):
        paginator = CursorPagination()
        before, limit = paginator.keyset_request(request)
        posts, next_before = selectors.timeline_home_page(
            viewer=request.user, before=before, size=limit
        )
        return paginator.keyset_response(
            PostSerializer(posts, many=True).data, next_before=next_before
        )


class UserPostsApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="users_posts",
        parameters=PAGE_PARAMS,
        responses={200: TimelinePage, 404: ERROR},
        summary="A person's posts and reposts, newest first",
    )
    def get(self, request, handle: str):
        author = user_get_by_handle(handle=handle)
        paginator = CursorPagination()
        before, limit = paginator.keyset_request(request)
        posts, next_before = selectors.profile_page(
            author=author, viewer=request.user, before=before, size=limit
        )
        return paginator.keyset_response(
            PostSerializer(posts, many=True).data, next_before=next_before
        )
