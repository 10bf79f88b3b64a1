from django.urls import path

from payments.creators import views as creators

app_name = "payments"
urlpatterns: list = []

# Creators: tip, unlock, buy, orders, memberships, dashboard.
urlpatterns += [
    path("posts/<int:post_id>/tip", creators.tip_page, name="tip-post"),
    path("tip/<str:handle>", creators.tip_page, name="tip-jar"),
    path("posts/<int:post_id>/unlock", creators.unlock_page, name="unlock"),
    path("posts/<int:post_id>/lock", creators.lock_page, name="lock"),
    path("posts/<int:post_id>/products/new", creators.product_new, name="product-new"),
    path("products/<int:product_id>/buy", creators.buy_page, name="buy"),
    path("orders", creators.orders_page, name="orders"),
    path("orders/<int:order_id>", creators.order_page, name="order"),
    path("orders/<int:order_id>/<str:action>", creators.order_action, name="order-action"),
    path("creator/tiers", creators.tiers_page, name="tiers"),
    path("memberships", creators.memberships_page, name="memberships"),
    path("memberships/join/<int:tier_id>", creators.join_page, name="join"),
    path("creator/dashboard", creators.dashboard_page, name="dashboard"),
    path("creator/dashboard/data", creators.dashboard_data, name="dashboard-data"),
]
