"""Forms of the payout pages: they parse; the services decide."""

from __future__ import annotations

from decimal import Decimal

from babel import Locale
from babel.numbers import format_decimal
from django import forms
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.error_messages import error_message
from core.exceptions import DomainError
from core.money import Money
from payments.payouts import bank_formats
from payments.payouts.models import PayoutMethod, PayoutSchedule
from payments.payouts.services import instant_fee_minimum


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
            (PayoutMethod.INSTANT, _("Instant (fee shown next, within minutes)")),
        ],
        widget=forms.RadioSelect,
        initial=PayoutMethod.STANDARD,
    )

    from_currency = forms.ChoiceField(
        label=_("Pay from wallet"),
        choices=[],
        required=False,
        help_text=_("Another wallet's money is converted first; you see the rate and fee."),
    )
    fx_quote_id = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def __init__(
        self,
        *args,
        destination_currency: str | None = None,
        instant_available: bool = False,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        if not instant_available:
            # Instant is offered only where it can happen: a debit card the processor
            # pays instantly. Chosen anyway (an old page), the choice is refused here.
            self.fields["method"].choices = [
                c for c in self.fields["method"].choices if c[0] != PayoutMethod.INSTANT
            ]
        elif destination_currency:
            # The fee's terms on the choice itself; the exact fee is the review's first line.
            minimum = Money(instant_fee_minimum(destination_currency), destination_currency)
            percent = format_decimal(
                Decimal(settings.PAYOUT_INSTANT_FEE_BPS) / 100,
                locale=translation.to_locale(translation.get_language() or "en"),
            )
            label = gettext("Instant (%(percent)s %% fee, at least %(minimum)s; within minutes)")
            self.fields["method"].choices = [
                (value, label % {"percent": percent, "minimum": minimum.format()})
                if value == PayoutMethod.INSTANT
                else (value, text)
                for value, text in self.fields["method"].choices
            ]
        wallets = [(c, c) for c in settings.SUPPORTED_CURRENCIES]
        # Payouts are in the bank account's currency; any wallet can pay for them.
        payout_currency = destination_currency or settings.DEFAULT_CURRENCY
        self.fields["currency"].choices = [(payout_currency, payout_currency)]
        self.fields["currency"].initial = payout_currency
        self.fields["from_currency"].choices = wallets
        self.fields["from_currency"].initial = payout_currency

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
            data["from_currency"] = data.get("from_currency") or money.currency
        return data


def country_name(code: str) -> str:
    """The country's name in the active language (CLDR, through babel), else its code."""
    try:
        return Locale.parse(translation.get_language() or "en", sep="-").territories.get(code, code)
    except (ValueError, TypeError):
        return code


class BankCountryForm(forms.Form):
    """The first step: where the bank is. The next step asks for that country's fields."""

    country = forms.ChoiceField(label=_("Country of the bank account"), choices=[])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(c, country_name(c)) for c in bank_formats.bank_countries()]
        self.fields["country"].choices = sorted(choices, key=lambda c: c[1])


class BankAccountForm(forms.Form):
    """The fields one country's bank accounts need (``bank_formats``); the service checks
    them (check digits, lengths) and its per-field reasons are put on the fields."""

    country = forms.CharField(widget=forms.HiddenInput, max_length=2)
    account_holder_name = forms.CharField(label=_("Account holder name"), max_length=100)
    currency = forms.ChoiceField(label=_("Currency of the account"), choices=[])

    def __init__(self, *args, country: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.bank_format = bank_formats.bank_format(country)
        self.fields["country"].initial = country
        currencies = self.bank_format.supported_currencies() if self.bank_format else ()
        self.fields["currency"].choices = [(c, c) for c in currencies]
        for spec in self.bank_format.fields if self.bank_format else ():
            self.fields[spec.name] = forms.CharField(
                label=spec.label,
                help_text=spec.help_text,
                required=spec.required,
                max_length=bank_formats.MAX_FIELD_LENGTH,
                widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
            )

    def details(self) -> dict[str, str]:
        names = [spec.name for spec in self.bank_format.fields]
        return {name: self.cleaned_data.get(name) or "" for name in names}

    def add_bank_errors(self, fields: dict[str, str]) -> None:
        """Put the service's per-field reasons (``InvalidBankDetails``) on the fields."""
        for name, reason in fields.items():
            self.add_error(name if name in self.fields else None, error_message(reason))


class DebitCardForm(forms.Form):
    """A debit card for instant payouts, picked from the processor's test cards: a card
    number is never typed here (a live deployment collects it in the processor's own
    card field, which gives a token)."""

    token = forms.ChoiceField(label=_("Debit card"), widget=forms.RadioSelect, choices=[])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["token"].choices = [
            (token, _(label)) for token, label in settings.PAYOUT_TEST_DEBIT_CARDS
        ]


class ScheduleForm(forms.Form):
    schedule = forms.ChoiceField(label=_("Schedule"), choices=PayoutSchedule.choices)
