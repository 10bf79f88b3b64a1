"""Reads of outgoing webhooks, always scoped to the owner."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from payments.hooks.errors import WebhookEndpointNotFound
from payments.hooks.models import Attempt, Delivery, Endpoint

ATTEMPTS_SHOWN = 20


def endpoints_of(*, user: User) -> QuerySet[Endpoint]:
    return Endpoint.objects.filter(user=user).order_by("-id")


def endpoint_of(*, user: User, endpoint_id: str) -> Endpoint:
    endpoint = Endpoint.objects.filter(user=user, public_id=endpoint_id).first()
    if endpoint is None:
        raise WebhookEndpointNotFound()
    return endpoint


def deliveries_of(*, endpoint: Endpoint) -> QuerySet[Delivery]:
    return Delivery.objects.filter(endpoint=endpoint).select_related("event").order_by("-id")


def attempts_of(*, delivery: Delivery) -> list[Attempt]:
    return list(delivery.attempt_log.order_by("-id")[:ATTEMPTS_SHOWN])
