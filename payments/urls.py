from django.urls import path

from payments.fx import views as fx_views
from payments.wallets import views as wallet_views

app_name = "payments"
urlpatterns: list = [
    path("wallet", wallet_views.wallet, name="wallet"),
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
        "wallet/transfers/<int:transfer_id>",
        wallet_views.transfer_detail,
        name="wallet-transfer",
    ),
    path("wallet/request", wallet_views.request_new, name="wallet-request-new"),
    path("wallet/requests", wallet_views.requests_inbox, name="wallet-requests"),
    path(
        "wallet/requests/<int:request_id>/<str:action>",
        wallet_views.request_action,
        name="wallet-request-action",
    ),
    path("wallet/feed", wallet_views.feed, name="wallet-feed"),
    # money across borders
    path("fx/", fx_views.fx_overview, name="fx-overview"),
    path("fx/convert", fx_views.fx_convert, name="fx-convert"),
    path("fx/convert/confirm", fx_views.fx_convert_confirm, name="fx-convert-confirm"),
    path("fx/send", fx_views.fx_send, name="fx-send"),
    path("fx/send/confirm", fx_views.fx_send_confirm, name="fx-send-confirm"),
    path("fx/quote-panel/<str:kind>", fx_views.fx_quote_panel, name="fx-quote-panel"),
    path("fx/receipts/<uuid:quote_id>", fx_views.fx_receipt, name="fx-receipt"),
]
