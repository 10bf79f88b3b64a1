"""REST API for posts: publish, read, delete, like, repost, reply, report, timelines.

Lists are cursor-paginated newest first in the one list shape (``core.api.pagination``);
``limit`` is clamped to 1..100 (a larger or nonsensical value is not an error, it just gets
the nearest allowed page).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import ERROR
from accounts.api_inputs import StrictSerializer, TextField, parse
from accounts.selectors import user_get_by_handle
from core.api.pagination import LIST_PARAMETERS, CursorPagination, list_of
from posts import publishing, selectors, services
from posts.serializers import PostSerializer

PAGE_PARAMS = LIST_PARAMETERS
TimelinePage = list_of(PostSerializer, "TimelinePage")


def _paginated(view: APIView, request, queryset):
    return CursorPagination().respond(
        queryset, request, view=view, render=lambda page: PostSerializer(page, many=True).data
    )


class PostCreateInput(StrictSerializer):
    text = TextField(max_length=2000, trim_whitespace=False, allow_blank=True)
    reply_to = serializers.IntegerField(min_value=1, required=False)
    # Paid content (payments.creators): both checked before anything is written.
    locked_text = serializers.CharField(
        max_length=10000, trim_whitespace=False, allow_blank=True, required=False
    )
    price = serializers.JSONField(required=False, help_text="{amount, currency}")
    members_tier = serializers.IntegerField(min_value=1, required=False)


class ReplyInput(StrictSerializer):
    text = TextField(max_length=2000, trim_whitespace=False, allow_blank=True)


class PostListApi(APIView):
    def get_permissions(self):
        return [AllowAny()] if self.request.method == "GET" else super().get_permissions()

    @extend_schema(
        operation_id="posts_list",
        parameters=PAGE_PARAMS,
        responses={200: TimelinePage},
        summary="Recent public posts",
    )
    def get(self, request):
        return _paginated(self, request, selectors.timeline_public(viewer=request.user))

    @extend_schema(
        operation_id="posts_create",
        request=PostCreateInput,
        responses={201: PostSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
        summary="Publish a post (or a reply, with `reply_to`)",
    )
    def post(self, request):
        data = parse(PostCreateInput, request.data)
        parts = {k: data[k] for k in ("locked_text", "price", "members_tier") if k in data}
        if parts:
            # One service, one transaction: the post and its paid content, or neither.
            post = publishing.paid_post_publish(
                author=request.user,
                text=data["text"],
                reply_to_id=data.get("reply_to"),
                parts=parts,
            )
        else:
            post = services.post_create(
                author=request.user, text=data["text"], reply_to_id=data.get("reply_to")
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
            201: inline_serializer("ReportOutput", {"id": serializers.IntegerField()}),
            404: ERROR,
            409: ERROR,
        },
    )
    def post(self, request, post_id: int):
        data = parse(ReportInput, request.data)
        report = services.report_create(
            reporter=request.user, post_id=post_id, reason=data.get("reason", "")
        )
        return Response({"id": report.pk}, status=status.HTTP_201_CREATED)


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
        return _paginated(
            self, request, selectors.timeline_profile(author=author, viewer=request.user)
        )
