from django.urls import path

from payments.creators import guest_pages
from payments.creators import views as creators
from payments.fx import views as fx_views
from payments.hooks import views as hooks_views
from payments.links import embeds
from payments.links import views as links
from payments.payouts import views as payout_views
from payments.wallets import views as wallet_views

app_name = "payments"
urlpatterns: list = [
    path("wallet", wallet_views.wallet, name="wallet"),
    path("wallet/balance", wallet_views.balance, name="wallet-balance"),
    path("wallet/statement.csv", wallet_views.statement_csv, name="wallet-statement-csv"),
    path("wallet/topup", wallet_views.topup_new, name="wallet-topup-new"),
    path("wallet/topups/<int:topup_id>", wallet_views.topup_detail, name="wallet-topup"),
    path(
        "wallet/topups/<int:topup_id>/confirm",
        wallet_views.topup_confirm,
        name="wallet-topup-confirm",
    ),
    path("wallet/send", wallet_views.send, name="wallet-send"),
    path("wallet/send/confirm", wallet_views.send_confirm, name="wallet-send-confirm"),
    path("wallet/people", wallet_views.people, name="wallet-people"),
    path(
        "wallet/payments/<slug:kind>/<str:ident>",
        wallet_views.payment_detail,
        name="wallet-payment",
    ),
    path(
        "wallet/transfers/<int:transfer_id>",
        wallet_views.transfer_detail,
        name="wallet-transfer",
    ),
    path("wallet/request", wallet_views.request_new, name="wallet-request-new"),
    path("wallet/requests", wallet_views.requests_inbox, name="wallet-requests"),
    path(
        "wallet/requests/<int:request_id>/review",
        wallet_views.request_review,
        name="wallet-request-review",
    ),
    path(
        "wallet/requests/<int:request_id>/<str:action>",
        wallet_views.request_action,
        name="wallet-request-action",
    ),
    path("wallet/feed", wallet_views.feed, name="wallet-feed"),
    path("wallet/verify", wallet_views.verify, name="wallet-verify"),
    # money across borders
    path("fx/", fx_views.fx_overview, name="fx-overview"),
    path("fx/convert", fx_views.fx_convert, name="fx-convert"),
    path("fx/convert/confirm", fx_views.fx_convert_confirm, name="fx-convert-confirm"),
    path("fx/send", fx_views.fx_send, name="fx-send"),
    path("fx/send/confirm", fx_views.fx_send_confirm, name="fx-send-confirm"),
    path("fx/quote-panel/<str:kind>", fx_views.fx_quote_panel, name="fx-quote-panel"),
    path("fx/receipts/<uuid:quote_id>", fx_views.fx_receipt, name="fx-receipt"),
]

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

# Guest payments by card: no account needed (the checkout key in the URL is the secret).
urlpatterns += [
    path("pay/guest/tip/<str:handle>", guest_pages.guest_tip_page, name="guest-tip"),
    path("pay/guest/unlock/<int:post_id>", guest_pages.guest_unlock_page, name="guest-unlock"),
    path(
        "pay/guest/product/<int:product_id>", guest_pages.guest_product_page, name="guest-product"
    ),
    path("pay/guest/access/<str:token>", guest_pages.guest_access_page, name="guest-access"),
    path("pay/guest/purchases", guest_pages.guest_purchases_page, name="guest-purchases"),
    path("pay/guest/<str:client_key>", guest_pages.guest_payment_page, name="guest-payment"),
    path(
        "pay/guest/<str:client_key>/confirm",
        guest_pages.guest_payment_confirm,
        name="guest-payment-confirm",
    ),
]

# Payment links: the owner's list, the public page, the owner's page of one link.
urlpatterns += [
    path("links", links.links_page, name="links"),
    path("links/<str:slug>", links.link_page, name="link"),
    path("links/<str:slug>/manage", links.link_manage_page, name="link-manage"),
    path("links/<str:slug>/card", links.link_guest_page, name="link-guest"),
    path("links/<str:slug>/deactivate", links.link_deactivate, name="link-deactivate"),
    # QR codes of a profile, a tip jar, a payment link (SVG for the page, PNG for print).
    path("qr/<str:kind>/<str:key>.<str:fmt>", links.qr_code, name="qr"),
    # Embeds for other sites: a tip button and a support card; the code to paste.
    path("embed", embeds.embed_code_page, name="embed-code"),
    path("embed/tip/<str:handle>", embeds.tip_embed, name="embed-tip"),
]

# Payouts: destinations, requests, history.
urlpatterns += [
    path("payouts/", payout_views.payouts_page, name="payouts"),
    path("payouts/confirm", payout_views.payout_confirm, name="payout-confirm"),
    path("payouts/settings", payout_views.payout_settings, name="payout-settings"),
    path("payouts/settings/bank", payout_views.payout_bank_account, name="payout-bank"),
    path("payouts/settings/card", payout_views.payout_debit_card, name="payout-card"),
    path("payouts/settings/onboarding", payout_views.payout_onboarding, name="payout-onboarding"),
]

# Outgoing webhooks, under settings.
urlpatterns += [
    path("settings/webhooks", hooks_views.endpoints_page, name="webhooks"),
    path("settings/webhooks/<str:endpoint_id>", hooks_views.endpoint_page, name="webhook"),
    path(
        "settings/webhooks/<str:endpoint_id>/<str:action>",
        hooks_views.endpoint_action,
        name="webhook-action",
    ),
]
