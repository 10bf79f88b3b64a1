"""Outgoing webhooks API (``/api/v1/webhook-endpoints``): one class per operation; each
parses, calls one service or selector, and renders through an output serializer."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_inputs import StrictSerializer, parse
from core.api.objects import ObjectField
from core.api.pagination import LIST_PARAMETERS, CursorPagination, list_of
from payments.hooks import selectors, services
from payments.hooks.models import Delivery, Endpoint
from payments.wallets.events import EVENT_TYPES

TAG = ["webhooks"]


class Timestamp(serializers.DateTimeField):
    """RFC 3339 in UTC with ``Z``."""

    def to_representation(self, value):
        if value is None:
            return None
        return services.timestamp_utc(value)


class EndpointOutput(serializers.Serializer):
    object = ObjectField("webhook_endpoint")
    id = serializers.CharField(source="public_id")
    url = serializers.URLField()
    description = serializers.CharField()
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_TYPES))
    is_active = serializers.BooleanField()
    previous_secret_expires_at = Timestamp(allow_null=True)
    created_at = Timestamp()


class EndpointWithSecretOutput(EndpointOutput):
    secret = serializers.CharField(help_text="Signs every delivery (see the README).")


class AttemptOutput(serializers.Serializer):
    started_at = Timestamp()
    duration_ms = serializers.IntegerField()
    status_code = serializers.IntegerField(allow_null=True)
    error = serializers.CharField()
    manual = serializers.BooleanField()


class DeliveryOutput(serializers.Serializer):
    object = ObjectField("webhook_delivery")
    id = serializers.CharField(source="public_id")
    event_id = serializers.CharField(source="event.public_id")
    event_type = serializers.CharField(source="event.kind")
    status = serializers.ChoiceField(choices=Delivery.Status.choices)
    attempts = serializers.IntegerField()
    next_attempt_at = Timestamp(allow_null=True)
    delivered_at = Timestamp(allow_null=True)
    created_at = Timestamp()


DeliveryPage = list_of(DeliveryOutput, "DeliveryPage")
EndpointPage = list_of(EndpointOutput, "EndpointPage")


class EndpointInput(StrictSerializer):
    url = serializers.CharField(max_length=2000)
    event_types = serializers.ListField(
        child=serializers.CharField(max_length=40), min_length=1, max_length=len(EVENT_TYPES)
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)


class EndpointUpdateInput(StrictSerializer):
    url = serializers.CharField(max_length=2000, required=False)
    event_types = serializers.ListField(
        child=serializers.CharField(max_length=40),
        min_length=1,
        max_length=len(EVENT_TYPES),
        required=False,
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)


class EndpointListApi(APIView):
    @extend_schema(
        operation_id="webhook_endpoints_list",
        tags=TAG,
        summary="List your webhook endpoints",
        parameters=LIST_PARAMETERS,
        responses={200: EndpointPage},
    )
    def get(self, request):
        return CursorPagination().respond(
            selectors.endpoints_of(user=request.user),
            request,
            view=self,
            render=lambda page: EndpointOutput(page, many=True).data,
        )

    @extend_schema(
        operation_id="webhook_endpoints_create",
        tags=TAG,
        summary="Register a webhook endpoint (the answer holds its signing secret)",
        request=EndpointInput,
        responses={201: EndpointWithSecretOutput},
    )
    def post(self, request):
        data = parse(EndpointInput, request.data)
        endpoint = services.endpoint_create(
            user=request.user,
            url=data["url"],
            event_types=data["event_types"],
            description=data.get("description", ""),
        )
        return Response(EndpointWithSecretOutput(endpoint).data, status=201)


class EndpointDetailApi(APIView):
    @extend_schema(
        operation_id="webhook_endpoints_read",
        tags=TAG,
        summary="Read a webhook endpoint with its signing secret",
        responses={200: EndpointWithSecretOutput},
    )
    def get(self, request, endpoint_id: str):
        endpoint = selectors.endpoint_of(user=request.user, endpoint_id=endpoint_id)
        return Response(EndpointWithSecretOutput(endpoint).data)

    @extend_schema(
        operation_id="webhook_endpoints_update",
        tags=TAG,
        summary="Change a webhook endpoint's URL, event types, description or state",
        request=EndpointUpdateInput,
        responses={200: EndpointOutput},
    )
    def patch(self, request, endpoint_id: str):
        data = parse(EndpointUpdateInput, request.data)
        endpoint = services.endpoint_update(user=request.user, endpoint_id=endpoint_id, **data)
        return Response(EndpointOutput(endpoint).data)

    @extend_schema(
        operation_id="webhook_endpoints_delete",
        tags=TAG,
        summary="Delete a webhook endpoint and its delivery log",
        responses={204: OpenApiResponse(description="Deleted.")},
    )
    def delete(self, request, endpoint_id: str):
        services.endpoint_delete(user=request.user, endpoint_id=endpoint_id)
        return Response(status=204)


class EndpointRotateApi(APIView):
    @extend_schema(
        operation_id="webhook_endpoints_rotate_secret",
        tags=TAG,
        summary="Rotate the signing secret; the old one keeps signing for the overlap",
        request=None,
        responses={200: EndpointWithSecretOutput},
    )
    def post(self, request, endpoint_id: str):
        endpoint: Endpoint = services.endpoint_secret_rotate(
            user=request.user, endpoint_id=endpoint_id
        )
        return Response(EndpointWithSecretOutput(endpoint).data)


class DeliveryListApi(APIView):
    @extend_schema(
        operation_id="webhook_deliveries_list",
        tags=TAG,
        summary="The delivery log of an endpoint, newest first",
        parameters=LIST_PARAMETERS,
        responses={200: DeliveryPage},
    )
    def get(self, request, endpoint_id: str):
        endpoint = selectors.endpoint_of(user=request.user, endpoint_id=endpoint_id)
        return CursorPagination().respond(
            selectors.deliveries_of(endpoint=endpoint),
            request,
            view=self,
            render=lambda page: DeliveryOutput(page, many=True).data,
        )


class DeliveryRedeliverApi(APIView):
    @extend_schema(
        operation_id="webhook_deliveries_redeliver",
        tags=TAG,
        summary="Send a delivery again now (same event id)",
        request=None,
        responses={202: DeliveryOutput},
    )
    def post(self, request, delivery_id: str):
        delivery = services.delivery_redeliver(user=request.user, delivery_id=delivery_id)
        return Response(DeliveryOutput(delivery).data, status=202)
