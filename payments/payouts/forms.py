"""Forms of the payout pages: they parse; the services decide."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from core.exceptions import DomainError
from core.money import Money
from payments.payouts.models import PayoutMethod, PayoutSchedule


class PayoutRequestForm(forms.Form):
    # strip=False: a padded amount is refused by Money.parse_typed, not silently trimmed.
    amount = forms.CharField(
        label=_("Amount"), max_length=40, strip=False, help_text=_("For example 25.00")
    )
    currency = forms.ChoiceField(label=_("Currency"), choices=[])
    method = forms.ChoiceField(
        label=_("Speed"),
        choices=[
            (PayoutMethod.STANDARD, _("Standard (free, 2 business days)")),
            (PayoutMethod.INSTANT, _("Instant (fee, today)")),
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
                money = Money.parse_typed(data["amount"], data["currency"])
            except DomainError as exc:
                raise forms.ValidationError({"amount": exc.message}) from exc
            if money.amount <= 0:
                raise forms.ValidationError({"amount": _("The amount must be more than zero.")})
            data["money"] = money
        return data


class BankAccountForm(forms.Form):
    account_number = forms.CharField(
        label=_("Account number"),
        max_length=17,
        help_text=_("Test numbers: 000123456789 pays; 000111111116 fails."),
    )
    routing_number = forms.CharField(
        label=_("Routing number"), max_length=9, required=False, initial="110000000"
    )
    account_holder_name = forms.CharField(
        label=_("Account holder name"), max_length=100, required=False
    )


class ScheduleForm(forms.Form):
    schedule = forms.ChoiceField(label=_("Schedule"), choices=PayoutSchedule.choices)
