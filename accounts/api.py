"""REST API for people: sign-up, tokens, re-authentication, profiles, the social graph,
search and notifications. One class per operation; each parses, calls one service or
selector and renders.
"""

from __future__ import annotations

from allauth.account.models import EmailAddress
from axes.exceptions import AxesBackendPermissionDenied
from django.contrib.auth import authenticate
from django.core.files.storage import default_storage
from django.http import FileResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import closing, exports, lockout, selectors, services
from accounts.api_inputs import (
    StrictIntegerField,
    StrictSerializer,
    TextField,
    UnknownField,
    parse,
)
from accounts.authentication import ANY_SCOPE
from accounts.models import ApiToken, DataExport, User
from accounts.reauth import require_recent_authentication
from accounts.serializers import (
    ApiTokenSerializer,
    FollowListEntrySerializer,
    MeSerializer,
    NotificationSerializer,
    UserProfileSerializer,
    UserPublicSerializer,
)
from core.api.objects import ObjectField
from core.api.pagination import LIST_PARAMETERS, CursorPagination, list_of
from core.api.throttling import ScopedRateThrottle
from core.exceptions import DomainError

ERROR = inline_serializer(
    "Error",
    {
        "error": inline_serializer(
            "ErrorBody",
            {
                "code": serializers.CharField(),
                "message": serializers.CharField(),
                "details": serializers.DictField(),
            },
        )
    },
)


class InvalidCredentials(DomainError):
    code = "invalid_credentials"
    status = 400
    default_message = _("The login or the password is wrong.")


class MfaRequired(DomainError):
    code = "mfa_required"
    status = 400
    default_message = _("This account uses two-factor login: send the current code as `code`.")


class MfaInvalid(DomainError):
    code = "mfa_invalid"
    status = 400
    default_message = _("The two-factor code is wrong or was used already.")


class LockedOut(DomainError):
    code = "locked_out"
    status = 429
    default_message = _("Too many failed logins. Try again later.")


class NotTokenAuthenticated(DomainError):
    code = "token_required"
    status = 400
    default_message = _("This endpoint revokes the Bearer token the request was made with.")


class AuthThrottled:
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"


# --- auth -----------------------------------------------------------------------------------


class SignupInput(StrictSerializer):
    handle = TextField(max_length=100, trim_whitespace=False)
    email = TextField(max_length=254)
    password = TextField(max_length=1024, trim_whitespace=False)
    display_name = TextField(max_length=200, required=False, allow_blank=True)


class SignupOutput(serializers.Serializer):
    user = MeSerializer()
    token = serializers.CharField()


def _me_payload(user: User) -> dict:
    """``MeSerializer``'s answer, written out: every client polls ``GET /me``, and walking
    the serializer's fields cost more CPU than the rest of the view. ``MeSerializer``
    stays the schema's word on the shape; a test holds the two to the same output."""
    flags = selectors.user_security_flags(user=user)
    return {
        "object": "user",
        "handle": user.handle,
        "display_name": user.display_name,
        "bio": user.bio,
        "link": user.link,
        "avatar_url": user.avatar.url if user.avatar else None,
        "date_joined": user.date_joined,
        "email": user.email,
        "email_verified": flags["email_verified"],
        "mfa_enabled": flags["mfa_enabled"],
        "language": user.language,
        "search_indexing": user.search_indexing,
    }


class SignupApi(AuthThrottled, APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        operation_id="auth_signup",
        request=SignupInput,
        responses={201: SignupOutput, 400: ERROR, 429: ERROR},
        summary="Create an account and get a Bearer token",
    )
    def post(self, request):
        data = parse(SignupInput, request.data)
        user = services.user_signup(
            handle=data["handle"],
            email=data["email"],
            password=data["password"],
            display_name=data.get("display_name", ""),
            accept_language=request.headers.get("Accept-Language", ""),
            detach_taken_email=True,
        )
        typed = services.email_check(email=data["email"], check_unique=False)
        # allauth builds the links from the request (host and scheme), so the mail is
        # sent here, after the account exists, rather than inside the service.
        if user.email:
            EmailAddress.objects.get(user=user, primary=True).send_confirmation(
                request._request, signup=True
            )
        else:
            # The address has an account: its owner hears about it; this answer is the
            # same as for a free address (the new account simply has none yet).
            services.signup_attempt_notify(request=request._request, email=typed)
        _, secret = services.token_create(user=user, name="signup")
        payload = _me_payload(user)
        payload["email"] = typed
        return Response({"user": payload, "token": secret}, status=201)


class _TokenOptions(StrictSerializer):
    name = TextField(max_length=100, required=False, allow_blank=True)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=ApiToken.ALL_SCOPES),
        min_length=1,
        max_length=3,
        required=False,
        help_text="read (no money), payments (moves money), payouts. Default: all three.",
    )
    expires_in_days = StrictIntegerField(
        min_value=1,
        required=False,
        help_text="1 to API_TOKEN_MAX_DAYS (365); default API_TOKEN_DEFAULT_DAYS (90).",
    )


class TokenInput(_TokenOptions):
    login = TextField(max_length=254, help_text="Handle or e-mail address.")
    password = TextField(max_length=1024, trim_whitespace=False)
    code = TextField(
        max_length=64, required=False, help_text="TOTP or recovery code, when 2FA is on."
    )


def _check_password_and_second_factor(request, *, login: str, password: str, code: str | None):
    """Authenticate through Django's backends (so django-axes counts failures and locks)."""
    user_obj = User.objects.filter(email__iexact=login).first() if "@" in login else None
    handle = user_obj.handle if user_obj else login.removeprefix("@")
    try:
        user = authenticate(request._request, username=handle, password=password, login=login)
    except AxesBackendPermissionDenied:
        raise LockedOut() from None
    if getattr(request._request, "axes_locked_out", False):
        raise LockedOut()
    if user is None:
        raise InvalidCredentials()
    if selectors.user_security_flags(user=user)["mfa_enabled"]:
        if not code:
            raise MfaRequired()
        # A wrong code is a failed login of the same identity as a wrong password, and a
        # locked identity may not try codes at all (accounts.lockout).
        if not lockout.second_factor_check_allowed(request, user):
            raise LockedOut()
        if not services.mfa_code_verify(user=user, code=code):
            if lockout.second_factor_failed(request, user):
                raise LockedOut()
            raise MfaInvalid()
    lockout.login_completed(request, user)
    return user


class TokenApi(AuthThrottled, APIView):
    """``POST`` logs in and issues a token; ``DELETE`` revokes the token used to call it."""

    token_scope = ANY_SCOPE  # any token may manage tokens (accounts.authentication)

    def get_permissions(self):
        return [AllowAny()] if self.request.method == "POST" else [IsAuthenticated()]

    def get_throttles(self):
        return super().get_throttles() if self.request.method == "POST" else []

    @extend_schema(
        operation_id="auth_token_create",
        request=TokenInput,
        responses={
            200: inline_serializer("TokenOutput", {"token": serializers.CharField()}),
            400: ERROR,
            429: ERROR,
        },
        summary="Log in with handle or e-mail, password and (if enabled) a 2FA code",
    )
    def post(self, request):
        data = parse(TokenInput, request.data)
        user = _check_password_and_second_factor(
            request, login=data["login"], password=data["password"], code=data.get("code")
        )
        _, secret = services.token_create(
            user=user,
            name=data.get("name", ""),
            scopes=data.get("scopes"),
            expires_in_days=data.get("expires_in_days"),
        )
        return Response({"token": secret})

    @extend_schema(
        operation_id="auth_token_revoke",
        request=None,
        responses={204: None, 400: ERROR, 401: ERROR},
        summary="Revoke the Bearer token this request carries",
    )
    def delete(self, request):
        if not isinstance(request.auth, ApiToken):
            raise NotTokenAuthenticated()
        services.token_revoke(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReauthenticateInput(StrictSerializer):
    password = TextField(max_length=1024, trim_whitespace=False)
    code = TextField(max_length=64, required=False)


class ReauthenticateApi(AuthThrottled, APIView):
    token_scope = ANY_SCOPE  # any token may manage tokens (accounts.authentication)

    @extend_schema(
        operation_id="auth_reauthenticate",
        request=ReauthenticateInput,
        responses={204: None, 400: ERROR, 429: ERROR},
        summary="Prove again who you are (sudo mode for money-sensitive calls)",
    )
    def post(self, request):
        if not isinstance(request.auth, ApiToken):
            raise NotTokenAuthenticated(_("Re-authenticate a session through the web page."))
        data = parse(ReauthenticateInput, request.data)
        user = _check_password_and_second_factor(
            request, login=request.user.handle, password=data["password"], code=data.get("code")
        )
        if user.pk != request.user.pk:
            raise InvalidCredentials()
        services.token_mark_reauthenticated(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- the person's API tokens ---------------------------------------------------------------


def _token_payload(token: ApiToken, request) -> dict:
    token.current = isinstance(request.auth, ApiToken) and request.auth.pk == token.pk
    return ApiTokenSerializer(token).data


class ApiTokenListApi(APIView):
    """``GET`` lists the caller's live tokens; ``POST`` creates one (after a recent
    re-authentication; a token cannot create one with scopes it lacks)."""

    token_scope = ANY_SCOPE  # any token may manage tokens (accounts.authentication)

    @extend_schema(
        operation_id="auth_tokens_list",
        responses={200: list_of(ApiTokenSerializer, "TokenList")},
    )
    def get(self, request):
        # Bounded (TOKEN_LIST_MAX), so one page.
        tokens = selectors.token_list(user=request.user)
        return CursorPagination().single_page([_token_payload(t, request) for t in tokens])

    @extend_schema(
        operation_id="auth_tokens_create",
        request=_TokenOptions,
        responses={
            201: inline_serializer(
                "TokenCreated", {"token": serializers.CharField(), "details": ApiTokenSerializer()}
            ),
            400: ERROR,
            403: ERROR,
        },
        summary="Create a named, scoped, expiring token (the secret is shown once)",
    )
    def post(self, request):
        require_recent_authentication(request)
        data = parse(_TokenOptions, request.data)
        scopes = data.get("scopes") or list(ApiToken.ALL_SCOPES)
        if isinstance(request.auth, ApiToken) and not set(scopes) <= set(request.auth.scopes):
            raise services.TokenScopeNotHeld(details={"held": request.auth.scopes})
        token, secret = services.token_create(
            user=request.user,
            name=data.get("name", ""),
            scopes=scopes,
            expires_in_days=data.get("expires_in_days"),
        )
        return Response(
            {"token": secret, "details": _token_payload(token, request)},
            status=status.HTTP_201_CREATED,
        )


class ApiTokenDetailApi(APIView):
    token_scope = ANY_SCOPE  # any token may manage tokens (accounts.authentication)

    @extend_schema(
        operation_id="auth_tokens_revoke",
        request=None,
        responses={204: None, 404: ERROR},
        summary="Revoke one of your tokens",
    )
    def delete(self, request, token_id: int):
        services.token_revoke_for_user(user=request.user, token_id=token_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApiTokenRevokeAllApi(APIView):
    token_scope = ANY_SCOPE  # any token may manage tokens (accounts.authentication)

    @extend_schema(
        operation_id="auth_tokens_revoke_all",
        request=None,
        responses={
            200: inline_serializer("TokensRevoked", {"revoked": serializers.IntegerField()})
        },
        summary="Revoke every one of your tokens, the one making this call included",
    )
    def post(self, request):
        if request.data:
            parse(StrictSerializer, request.data)
        revoked = services.token_revoke_all(user=request.user, reason="revoked all (API)")
        return Response({"revoked": revoked})


# --- me -------------------------------------------------------------------------------------


class MeUpdateInput(StrictSerializer):
    display_name = TextField(max_length=200, required=False, allow_blank=True)
    bio = TextField(max_length=2000, required=False, allow_blank=True)
    link = TextField(max_length=2000, required=False, allow_blank=True)
    language = TextField(
        max_length=16,
        required=False,
        allow_blank=True,
        help_text="Interface, receipt and notification language: 'en', 'de', or '' to "
        "follow Accept-Language.",
    )
    search_indexing = serializers.BooleanField(
        required=False, help_text="false: search engines are asked not to list you."
    )


class MeApi(APIView):
    # Both methods answer with the security flags: the token lookup reads them too
    # (accounts.authentication), so the answer costs one statement, not two.
    prefetch_security_flags = True

    @extend_schema(
        operation_id="me_get",
        responses={200: MeSerializer, 401: ERROR},
        examples=[
            OpenApiExample(
                "You",
                value={
                    "object": "user",
                    "handle": "alice",
                    "display_name": "Alice",
                    "bio": "Coffee, code, climbing.",
                    "link": "https://alice.example",
                    "avatar_url": None,
                    "date_joined": "2026-03-14T08:00:00Z",
                    "email": "alice@example.com",
                    "email_verified": True,
                    "mfa_enabled": False,
                    "language": "en",
                    "search_indexing": True,
                },
                response_only=True,
                status_codes=["200"],
            )
        ],
    )
    def get(self, request):
        return Response(_me_payload(request.user))

    @extend_schema(
        operation_id="me_update",
        request=MeUpdateInput,
        responses={200: MeSerializer, 400: ERROR, 401: ERROR},
    )
    def patch(self, request):
        data = parse(MeUpdateInput, request.data)
        services.user_update_profile(user=request.user, **data)
        return Response(_me_payload(request.user))


class MeAvatarApi(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="me_avatar_set",
        request={
            "multipart/form-data": inline_serializer(
                "AvatarUpload", {"avatar": serializers.ImageField()}
            )
        },
        responses={200: MeSerializer, 400: ERROR},
        summary="Upload an avatar (PNG, JPEG, WebP or GIF, at most 2 MB)",
    )
    def put(self, request):
        unknown = sorted(set(request.data) - {"avatar"})
        if unknown:
            raise UnknownField(details={"fields": unknown})
        upload = request.data.get("avatar")
        # A text field named "avatar" is not a file: refuse it like any unreadable image.
        if not hasattr(upload, "read"):
            upload = None
        services.user_set_avatar(user=request.user, upload=upload)
        return Response(_me_payload(request.user))


# --- people ---------------------------------------------------------------------------------


def _profile_payload(*, user: User, viewer) -> dict:
    user.counts = selectors.follow_counts(user=user)
    user.relationship = selectors.relationship(viewer=viewer, other=user)
    return UserProfileSerializer(user).data


class UserDetailApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(operation_id="users_get", responses={200: UserProfileSerializer, 404: ERROR})
    def get(self, request, handle: str):
        user = selectors.user_get_by_handle(handle=handle)
        return Response(_profile_payload(user=user, viewer=request.user))


class UserSearchApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="users_search",
        parameters=[
            OpenApiParameter("q", str, description="Part of a handle or a display name."),
            OpenApiParameter("limit", int, description="1..50, default 20 (clamped)."),
        ],
        responses={200: list_of(UserPublicSerializer, "UserSearchOutput")},
    )
    def get(self, request):
        try:
            limit = int(request.query_params.get("limit", 20))
        except ValueError:
            limit = 20
        people = selectors.user_search(query=request.query_params.get("q", ""), limit=limit)
        # The best matches, ranked: one bounded page, never a cursor.
        return CursorPagination().single_page(UserPublicSerializer(people, many=True).data)


# A page of a followers or following list (the one list shape, newest follow first).
FollowListPage = list_of(FollowListEntrySerializer, "FollowListPage")


def _follow_list_view(direction: str, doc: str):
    """One class per list: a person's followers, or the people they follow."""

    class FollowListApi(APIView):
        permission_classes = [AllowAny]

        @extend_schema(
            operation_id=f"users_{direction}",
            parameters=LIST_PARAMETERS,
            responses={200: FollowListPage, 403: ERROR, 404: ERROR},
            summary=doc,
        )
        def get(self, request, handle: str):
            user = selectors.user_get_by_handle(handle=handle)
            rows = selectors.follow_list(user=user, viewer=request.user, direction=direction)
            paginator = CursorPagination()
            page = paginator.paginate_queryset(rows, request, view=self)
            for row in page:
                row.person = row.follower if direction == "followers" else row.followee
            return paginator.get_paginated_response(FollowListEntrySerializer(page, many=True).data)

    FollowListApi.__name__ = FollowListApi.__qualname__ = f"User{direction.title()}Api"
    return FollowListApi


UserFollowersApi = _follow_list_view(
    "followers", "A person's followers, newest first (hidden when either blocks the other)"
)
UserFollowingApi = _follow_list_view(
    "following", "The people a person follows, newest first (hidden when either blocks the other)"
)


def _edge_view(name: str, create, delete, doc: str):
    """One class per graph edge kind: POST creates (idempotent), DELETE removes."""

    class EdgeApi(APIView):
        @extend_schema(
            operation_id=f"users_{name}",
            request=None,
            responses={200: UserProfileSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
            summary=doc,
        )
        def post(self, request, handle: str):
            other = selectors.user_get_by_handle(handle=handle)
            create(request.user, other)
            return Response(_profile_payload(user=other, viewer=request.user))

        @extend_schema(
            operation_id=f"users_un{name}",
            request=None,
            responses={200: UserProfileSerializer, 404: ERROR},
        )
        def delete(self, request, handle: str):
            other = selectors.user_get_by_handle(handle=handle)
            delete(request.user, other)
            return Response(_profile_payload(user=other, viewer=request.user))

    EdgeApi.__name__ = EdgeApi.__qualname__ = f"User{name.title()}Api"
    return EdgeApi


UserFollowApi = _edge_view(
    "follow",
    lambda me, other: services.follow_create(follower=me, followee=other),
    lambda me, other: services.follow_delete(follower=me, followee=other),
    "Follow a person (refused when either blocks the other)",
)
UserBlockApi = _edge_view(
    "block",
    lambda me, other: services.block_create(blocker=me, blocked=other),
    lambda me, other: services.block_delete(blocker=me, blocked=other),
    "Block a person: removes follows both ways, stops their follows, mentions and payments",
)
UserMuteApi = _edge_view(
    "mute",
    lambda me, other: services.mute_create(muter=me, muted=other),
    lambda me, other: services.mute_delete(muter=me, muted=other),
    "Mute a person: their posts and notifications stop reaching you",
)


# --- notifications --------------------------------------------------------------------------


class NotificationListApi(APIView):
    @extend_schema(
        operation_id="notifications_list",
        parameters=LIST_PARAMETERS,
        responses={200: list_of(NotificationSerializer, "NotificationList")},
    )
    def get(self, request):
        return CursorPagination().respond(
            selectors.notification_list(recipient=request.user),
            request,
            view=self,
            render=lambda page: NotificationSerializer(page, many=True).data,
        )


class NotificationReadInput(StrictSerializer):
    up_to_id = serializers.IntegerField(min_value=1, required=False)


class NotificationReadApi(APIView):
    @extend_schema(
        operation_id="notifications_mark_read",
        request=NotificationReadInput,
        responses={
            200: inline_serializer("NotificationReadOutput", {"marked": serializers.IntegerField()})
        },
    )
    def post(self, request):
        data = parse(NotificationReadInput, request.data)
        marked = services.notification_mark_read(
            recipient=request.user, up_to_id=data.get("up_to_id")
        )
        return Response({"marked": marked})


class NotificationUnreadCountApi(APIView):
    @extend_schema(
        operation_id="notifications_unread_count",
        responses={200: inline_serializer("UnreadCount", {"unread": serializers.IntegerField()})},
    )
    def get(self, request):
        return Response({"unread": selectors.notification_unread_count(recipient=request.user)})


# --- your data: export and closing -----------------------------------------------------------


class DataExportSerializer(serializers.Serializer):
    object = ObjectField("data_export")
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=DataExport.Status.choices)
    progress = serializers.IntegerField(help_text="Percent done.")
    size = serializers.IntegerField(help_text="Bytes of the ZIP once ready.")
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    download_url = serializers.CharField(allow_null=True)


def _export_payload(export: DataExport, request) -> dict:
    data = DataExportSerializer(export).data
    data["download_url"] = (
        request.build_absolute_uri(reverse("api-me-export-download", args=[export.pk]))
        if export.status == DataExport.Status.READY
        else None
    )
    return data


class MeExportListApi(APIView):
    """``GET`` lists your recent data exports; ``POST`` asks for a new one."""

    @extend_schema(
        operation_id="me_exports_list",
        responses={200: list_of(DataExportSerializer, "DataExportList")},
        summary="Your recent data exports, newest first (one page: they are few and expire)",
    )
    def get(self, request):
        return CursorPagination().single_page(
            [_export_payload(e, request) for e in exports.export_list(user=request.user)]
        )

    @extend_schema(
        operation_id="me_exports_create",
        request=None,
        responses={202: DataExportSerializer, 400: ERROR, 409: ERROR, 429: ERROR},
        summary="Ask for a ZIP of everything about you (one at a time; e-mailed when ready)",
    )
    def post(self, request):
        if request.data:
            parse(StrictSerializer, request.data)
        export = exports.export_request(
            user=request.user, page_url=request.build_absolute_uri(reverse("accounts:data"))
        )
        return Response(_export_payload(export, request), status=status.HTTP_202_ACCEPTED)


class MeExportDetailApi(APIView):
    @extend_schema(
        operation_id="me_exports_get",
        responses={200: DataExportSerializer, 404: ERROR},
        summary="An export's progress (queued, building, ready, failed) and its download link",
    )
    def get(self, request, export_id: int):
        export = exports.export_get(user=request.user, export_id=export_id)
        return Response(_export_payload(export, request))


class MeExportDownloadApi(APIView):
    @extend_schema(
        operation_id="me_exports_download",
        responses={
            (200, "application/zip"): OpenApiTypes.BINARY,
            404: ERROR,
            409: ERROR,
            410: ERROR,
        },
        summary="Download a ready export (only its owner can)",
    )
    def get(self, request, export_id: int):
        export = exports.export_for_download(user=request.user, export_id=export_id)
        return export_file_response(export)


def export_file_response(export: DataExport) -> FileResponse:
    """The ZIP, streamed from the default storage, as an attachment that is never cached."""
    response = FileResponse(
        default_storage.open(export.file_name, "rb"),
        as_attachment=True,
        filename=exports.export_download_name(export),
        content_type="application/zip",
    )
    response["Cache-Control"] = "private, no-store"
    return response


class CloseInput(StrictSerializer):
    confirm = TextField(max_length=64, help_text="Your handle, typed again to confirm.")


class MeCloseApi(APIView):
    """``GET`` says whether the account can close now (and what stands in the way);
    ``POST`` closes it for good, after a recent re-authentication."""

    # Closing ends every token and session: a read-only token may not do it.
    token_scope = ApiToken.Scope.PAYMENTS

    @extend_schema(
        operation_id="me_close_check",
        responses={
            200: inline_serializer(
                "ClosingCheck",
                {
                    "can_close": serializers.BooleanField(),
                    "blockers": inline_serializer(
                        "ClosingBlocker",
                        {
                            "code": serializers.CharField(
                                help_text="Stable: balance_remaining, pending_holds, "
                                "topup_in_flight, orders_open, creator_payment_pending, "
                                "payout_pending, dispute_open."
                            ),
                            "message": serializers.CharField(),
                            "url": serializers.CharField(help_text="Where to resolve it."),
                        },
                        many=True,
                    ),
                },
            )
        },
    )
    def get(self, request):
        blockers = closing.account_close_blockers(user=request.user)
        return Response({"can_close": not blockers, "blockers": [b.as_dict() for b in blockers]})

    @extend_schema(
        operation_id="me_close",
        request=CloseInput,
        responses={204: None, 400: ERROR, 403: ERROR, 409: ERROR},
        summary="Close your account (refused while money is held; the ledger keeps its rows)",
    )
    def post(self, request):
        data = parse(CloseInput, request.data)
        require_recent_authentication(request)
        closing.account_close(user=request.user, confirm_handle=data["confirm"])
        return Response(status=status.HTTP_204_NO_CONTENT)
