"""REST API v1 endpoints of this app, mounted under /api/v1/."""

from django.urls import path

from payments.fx import api as fx_api

urlpatterns: list = [
    path("fx/rates", fx_api.RatesApi.as_view(), name="api-fx-rates"),
    path("fx/quotes", fx_api.QuoteCreateApi.as_view(), name="api-fx-quotes"),
    path("fx/quotes/<str:quote_id>", fx_api.QuoteDetailApi.as_view(), name="api-fx-quote"),
    path("fx/conversions", fx_api.ConversionCreateApi.as_view(), name="api-fx-conversions"),
    path("fx/transfers", fx_api.TransferCreateApi.as_view(), name="api-fx-transfers"),
    path("fx/home-currency", fx_api.HomeCurrencyApi.as_view(), name="api-fx-home-currency"),
]
