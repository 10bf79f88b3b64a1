from django.urls import path

from payments.fx import views as fx_views

app_name = "payments"
urlpatterns: list = [
    path("fx/", fx_views.fx_overview, name="fx-overview"),
    path("fx/convert", fx_views.fx_convert, name="fx-convert"),
    path("fx/convert/confirm", fx_views.fx_convert_confirm, name="fx-convert-confirm"),
    path("fx/send", fx_views.fx_send, name="fx-send"),
    path("fx/send/confirm", fx_views.fx_send_confirm, name="fx-send-confirm"),
    path("fx/quote-panel/<str:kind>", fx_views.fx_quote_panel, name="fx-quote-panel"),
    path("fx/receipts/<uuid:quote_id>", fx_views.fx_receipt, name="fx-receipt"),
]
