from django.urls import path

from payments.payouts import views as payout_views

app_name = "payments"
urlpatterns: list = [
    path("payouts/", payout_views.payouts_page, name="payouts"),
    path("payouts/confirm", payout_views.payout_confirm, name="payout-confirm"),
    path("payouts/settings", payout_views.payout_settings, name="payout-settings"),
    path("payouts/settings/bank", payout_views.payout_bank_account, name="payout-bank"),
    path("payouts/settings/onboarding", payout_views.payout_onboarding, name="payout-onboarding"),
]
