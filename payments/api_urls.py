"""REST API v1 endpoints of this app, mounted under /api/v1/."""

from django.urls import path

from payments.payouts import api as payouts_api

urlpatterns: list = [
    path("payouts", payouts_api.PayoutListCreateApi.as_view(), name="payouts"),
    path("payouts/quote", payouts_api.PayoutQuoteApi.as_view(), name="payouts-quote"),
    path(
        "payouts/destination",
        payouts_api.PayoutDestinationApi.as_view(),
        name="payouts-destination",
    ),
    path("payouts/<str:payout_id>", payouts_api.PayoutDetailApi.as_view(), name="payout-detail"),
]
