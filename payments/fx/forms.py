"""Forms of the FX pages: they parse what a person typed; amounts go through Money.parse."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from core.exceptions import DomainError
from core.money import Money


def _currency_choices():
    return [(c, c) for c in settings.SUPPORTED_CURRENCIES]


class _AmountForm(forms.Form):
    currency = forms.ChoiceField(label=_("You pay in"), choices=_currency_choices)
    amount = forms.CharField(
        label=_("Amount"),
        max_length=40,
        strip=False,  # a padded amount is refused by Money.parse_typed, not trimmed
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )

    def clean(self):
        data = super().clean()
        if "currency" in data and "amount" in data:
            try:
                data["money"] = Money.parse_typed(data["amount"], data["currency"])
            except DomainError as exc:
                self.add_error("amount", exc.message)
                return data
            if data["money"].amount <= 0:
                self.add_error("amount", _("Enter an amount above zero."))
        return data


class ConvertForm(_AmountForm):
    target_currency = forms.ChoiceField(label=_("Into"), choices=_currency_choices)

    def clean(self):
        data = super().clean()
        if data.get("currency") and data.get("currency") == data.get("target_currency"):
            self.add_error("target_currency", _("Choose another currency than the one you pay in."))
        return data


class SendForm(_AmountForm):
    to = forms.CharField(label=_("To (handle)"), max_length=64, strip=True)
    note = forms.CharField(label=_("Note"), max_length=280, required=False, strip=True)

    field_order = ["to", "currency", "amount", "note"]


class HomeCurrencyForm(forms.Form):
    currency = forms.ChoiceField(label=_("Home currency"), choices=_currency_choices)
