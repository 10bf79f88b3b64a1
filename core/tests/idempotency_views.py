"""A tiny money-like endpoint for testing the idempotency layer in isolation.

Its side effect is a Redis counter (real Redis), so a test can count how often the work ran.
The one-transaction variant also writes a database row (a notification to the payer), so a
test can see whether the work was committed or rolled back.
"""

import time

import redis
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import path
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.exceptions import DomainError
from core.idempotency import idempotent_api, idempotent_form


def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


class NotEnough(DomainError):
    code = "insufficient_funds"
    status = 422


class PaySerializer(serializers.Serializer):
    amount = serializers.IntegerField(min_value=1)
    to = serializers.CharField()


class PayView(APIView):
    @idempotent_api("test.pay")
    def post(self, request):
        data = PaySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data["amount"] > 1000:
            raise NotEnough("Not enough money.")
        time.sleep(float(request.headers.get("X-Sleep", "0")))
        runs = redis_client().incr(request.headers["X-Counter"])
        if request.headers.get("X-Crash"):
            raise RuntimeError("the process died after the work")
        return Response({"paid": data.validated_data["amount"], "run": runs}, status=201)


class PayOneTransactionView(APIView):
    @idempotent_api("test.pay_one", one_transaction=True)
    def post(self, request):
        from accounts.models import Notification

        data = PaySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data["amount"] > 1000:
            raise NotEnough("Not enough money.")
        Notification.objects.create(
            recipient=request.user, kind="test_paid", data={"key": request.idempotency_key}
        )
        time.sleep(float(request.headers.get("X-Sleep", "0")))
        runs = redis_client().incr(request.headers["X-Counter"])
        if request.headers.get("X-Crash"):
            raise RuntimeError("the process died after the work")
        if request.headers.get("X-Unavailable"):
            return Response({"error": {"code": "unavailable"}}, status=503)
        return Response({"paid": data.validated_data["amount"], "run": runs}, status=201)


@idempotent_form("test.pay_form")
def pay_form(request):
    amount = int(request.POST.get("amount") or 0)
    if amount <= 0:
        return HttpResponse("fix the amount", status=200)
    runs = redis_client().incr(request.POST["counter"])
    return redirect(f"/receipt/{runs}")


# The site's own URLs too, so that an error page (a deliberate crash) renders its layout.
from socialpay.urls import urlpatterns as site_urlpatterns  # noqa: E402

urlpatterns = [
    *site_urlpatterns,
    path("pay", PayView.as_view()),
    path("pay-one-transaction", PayOneTransactionView.as_view()),
    path("pay-form", login_required(pay_form)),
]
