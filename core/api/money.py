"""The one money shape of API answers, ``{"amount": int, "currency": "EUR"}``, declared once
(the schema component ``Money``) for every area's output serializers."""

from __future__ import annotations

from rest_framework import serializers


class MoneyOutput(serializers.Serializer):
    amount = serializers.IntegerField(help_text="Integer minor units of `currency`.")
    currency = serializers.CharField(help_text="Upper-case ISO 4217 code.")

    class Meta:
        ref_name = "Money"
