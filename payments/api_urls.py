"""REST API v1 endpoints of this app, mounted under /api/v1/."""

from django.urls import path

from payments.creators import api as creators_api
from payments.fx import api as fx_api
from payments.hooks import api as hooks_api
from payments.links import api as links_api
from payments.payouts import api as payouts_api
from payments.wallets import api as wallet_api

urlpatterns: list = [
    # wallet
    path("wallet", wallet_api.WalletApi.as_view(), name="wallet"),
    path("wallet/statement", wallet_api.StatementApi.as_view(), name="wallet-statement"),
    path("limits", wallet_api.LimitsApi.as_view(), name="limits"),
    path("topups", wallet_api.TopUpCreateApi.as_view(), name="topups"),
    path("topups/<int:topup_id>", wallet_api.TopUpDetailApi.as_view(), name="topup-detail"),
    path(
        "topups/<int:topup_id>/confirm",
        wallet_api.TopUpConfirmApi.as_view(),
        name="topup-confirm",
    ),
    path("transfers", wallet_api.TransferCreateApi.as_view(), name="transfers"),
    path(
        "transfers/<int:transfer_id>",
        wallet_api.TransferDetailApi.as_view(),
        name="transfer-detail",
    ),
    path("requests", wallet_api.RequestListApi.as_view(), name="requests"),
    path("requests/<int:request_id>", wallet_api.RequestDetailApi.as_view(), name="request"),
    path("requests/<int:request_id>/pay", wallet_api.RequestPayApi.as_view()),
    path("requests/<int:request_id>/decline", wallet_api.RequestDeclineApi.as_view()),
    path("requests/<int:request_id>/cancel", wallet_api.RequestCancelApi.as_view()),
    path("verification", wallet_api.VerificationApi.as_view(), name="verification"),
    path("payments/feed", wallet_api.FeedApi.as_view(), name="payments-feed"),
    # money across borders
    path("fx/rates", fx_api.RatesApi.as_view(), name="api-fx-rates"),
    path("fx/quotes", fx_api.QuoteCreateApi.as_view(), name="api-fx-quotes"),
    path("fx/quotes/<str:quote_id>", fx_api.QuoteDetailApi.as_view(), name="api-fx-quote"),
    path("fx/conversions", fx_api.ConversionCreateApi.as_view(), name="api-fx-conversions"),
    path("fx/transfers", fx_api.TransferCreateApi.as_view(), name="api-fx-transfers"),
    path("fx/home-currency", fx_api.HomeCurrencyApi.as_view(), name="api-fx-home-currency"),
]

# Creators: tips, unlocks, products, orders, memberships, dashboard.
urlpatterns += [
    path("posts/<int:post_id>/tips", creators_api.PostTipsApi.as_view(), name="api-post-tips"),
    path("posts/<int:post_id>/unlock", creators_api.PostUnlockApi.as_view(), name="api-unlock"),
    path("users/<str:handle>/tips", creators_api.UserTipsApi.as_view(), name="api-user-tips"),
    path("products", creators_api.ProductListApi.as_view(), name="api-products"),
    path("orders", creators_api.OrderListApi.as_view(), name="api-orders"),
    path("orders/<int:order_id>", creators_api.OrderDetailApi.as_view(), name="api-order"),
    path("orders/<int:order_id>/ship", creators_api.OrderShipApi.as_view(), name="api-order-ship"),
    path(
        "orders/<int:order_id>/confirm",
        creators_api.OrderConfirmApi.as_view(),
        name="api-order-confirm",
    ),
    path(
        "orders/<int:order_id>/refund",
        creators_api.OrderRefundApi.as_view(),
        name="api-order-refund",
    ),
    path("memberships/tiers", creators_api.TierListApi.as_view(), name="api-membership-tiers"),
    path("memberships", creators_api.MembershipListApi.as_view(), name="api-memberships"),
    path(
        "memberships/<int:membership_id>/cancel",
        creators_api.MembershipCancelApi.as_view(),
        name="api-membership-cancel",
    ),
    path("creator/dashboard", creators_api.DashboardApi.as_view(), name="api-creator-dashboard"),
]

# Payouts: destinations, requests, history.
urlpatterns += [
    path("payouts", payouts_api.PayoutListCreateApi.as_view(), name="payouts"),
    path("payouts/quote", payouts_api.PayoutQuoteApi.as_view(), name="payouts-quote"),
    path(
        "payouts/destination/card",
        payouts_api.PayoutCardApi.as_view(),
        name="payouts-destination-card",
    ),
    path(
        "payouts/destination",
        payouts_api.PayoutDestinationApi.as_view(),
        name="payouts-destination",
    ),
    path(
        "payouts/bank-formats",
        payouts_api.PayoutBankFormatsApi.as_view(),
        name="payouts-bank-formats",
    ),
    path("payouts/<str:payout_id>", payouts_api.PayoutDetailApi.as_view(), name="payout-detail"),
]

# Outgoing webhooks: endpoints, their delivery log, redelivery.
urlpatterns += [
    path("webhook-endpoints", hooks_api.EndpointListApi.as_view(), name="webhook-endpoints"),
    path(
        "webhook-endpoints/<str:endpoint_id>",
        hooks_api.EndpointDetailApi.as_view(),
        name="webhook-endpoint",
    ),
    path(
        "webhook-endpoints/<str:endpoint_id>/rotate-secret",
        hooks_api.EndpointRotateApi.as_view(),
        name="webhook-endpoint-rotate",
    ),
    path(
        "webhook-endpoints/<str:endpoint_id>/deliveries",
        hooks_api.DeliveryListApi.as_view(),
        name="webhook-deliveries",
    ),
    path(
        "webhook-deliveries/<str:delivery_id>/redeliver",
        hooks_api.DeliveryRedeliverApi.as_view(),
        name="webhook-delivery-redeliver",
    ),
]
# Payment links: create, read (public), pay, deactivate, the owner's list of payments.
urlpatterns += [
    path("links", links_api.LinkListCreateApi.as_view(), name="api-links"),
    path("links/<str:slug>", links_api.LinkDetailApi.as_view(), name="api-link"),
    path("links/<str:slug>/pay", links_api.LinkPayApi.as_view(), name="api-link-pay"),
    path(
        "links/<str:slug>/deactivate",
        links_api.LinkDeactivateApi.as_view(),
        name="api-link-deactivate",
    ),
    path(
        "links/<str:slug>/payments",
        links_api.LinkPaymentsApi.as_view(),
        name="api-link-payments",
    ),
]
