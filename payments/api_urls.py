"""REST API v1 endpoints of this app, mounted under /api/v1/."""

from django.urls import path

from payments.creators import api as creators_api

urlpatterns: list = []

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
