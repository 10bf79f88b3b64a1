"""Forms of the payout pages: they parse; the services decide."""

from __future__ import annotations

from django import forms
from django.conf import settings

from core.exceptions import DomainError
from core.money import Money
from payments.models.payouts import PayoutMethod, PayoutSchedule


class PayoutRequestForm(forms.Form):
    amount = forms.CharField(max_length=40, help_text="For example 25.00")
    currency = forms.ChoiceField(choices=[])
    method = forms.ChoiceField(
        choices=[
            (PayoutMethod.STANDARD, "Standard (free, 2 business days)"),
            (PayoutMethod.INSTANT, "Instant (fee, today)"),
        ],
        widget=forms.RadioSelect,
        initial=PayoutMethod.STANDARD,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = [(c, c) for c in settings.SUPPORTED_CURRENCIES]
        self.fields["currency"].initial = settings.DEFAULT_CURRENCY

    def clean(self):
        data = super().clean()
        if "amount" in data and "currency" in data:
            try:
                money = Money.parse(data["amount"].strip(), data["currency"])
            except DomainError as exc:
                raise forms.ValidationError(exc.message) from exc
            if money.amount <= 0:
                raise forms.ValidationError("The amount must be more than zero.")
            data["money"] = money
        return data


class BankAccountForm(forms.Form):
    account_number = forms.CharField(
        max_length=17, help_text="Test numbers: 000123456789 pays; 000111111116 fails."
    )
    routing_number = forms.CharField(max_length=9, required=False, initial="110000000")
    account_holder_name = forms.CharField(max_length=100, required=False)


class ScheduleForm(forms.Form):
    schedule = forms.ChoiceField(choices=PayoutSchedule.choices)
