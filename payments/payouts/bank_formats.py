"""What a bank account looks like, country by country, and how to check one.

Each supported country has one ``BankFormat``: the fields its banks need (an IBAN in most
of Europe; a sort code and account number in the UK; routing and account numbers in the
US; transit, institution and account numbers in Canada; a BSB and account number in
Australia; an IFSC and account number in India), the currencies its accounts receive,
and whether a BIC is needed next to the IBAN (outside SEPA, where banks still route by
BIC). ``bank_details_validate`` normalises what a person typed (spaces, dashes and
lowercase are accepted) and checks it with ``schwifty`` (IBAN, BIC) and ``python-stdnum``
(the US routing number's checksum); the other national numbers have no public check
digit, so they are checked for shape only and the bank has the last word.

Every mistake is reported per field with a stable code (``BANK_FIELD_ERRORS``; sentences in
``core.error_messages``), all at once, so a form can mark each field. Nothing here touches
the database or a processor.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from schwifty import BIC, IBAN
from schwifty import exceptions as iban_errors
from stdnum.us import rtn

from payments.payouts.errors import InvalidBankDetails

# Stable reasons a field is refused (``InvalidBankDetails.details["fields"][name]``).
REQUIRED = "bank_field_required"
WRONG_LENGTH = "bank_field_length"
NOT_DIGITS = "bank_field_digits"
BAD_FORMAT = "bank_field_format"
WRONG_CHECKSUM = "bank_field_checksum"
COUNTRY_MISMATCH = "bank_country_mismatch"
COUNTRY_UNSUPPORTED = "bank_country_unsupported"
CURRENCY_UNSUPPORTED = "bank_currency_unsupported"
BANK_FIELD_ERRORS = (
    REQUIRED,
    WRONG_LENGTH,
    NOT_DIGITS,
    BAD_FORMAT,
    WRONG_CHECKSUM,
    COUNTRY_MISMATCH,
    COUNTRY_UNSUPPORTED,
    CURRENCY_UNSUPPORTED,
)

#: Longest value any field accepts before normalisation (an IBAN is at most 34
#: characters; spaces every four make it 42).
MAX_FIELD_LENGTH = 50


@dataclass(frozen=True, slots=True)
class BankField:
    """One input. ``kind`` picks the check: ``iban``, ``bic``, ``digits`` (``lengths``
    gives the allowed digit counts), ``us_routing`` (9 digits with a checksum) or ``ifsc``."""

    name: str
    label: object  # a lazy translation
    kind: str
    lengths: tuple[int, ...] = ()
    help_text: object = ""
    required: bool = True


@dataclass(frozen=True, slots=True)
class BankFormat:
    country: str
    scheme: str  # iban | gb | us | ca | au | in
    fields: tuple[BankField, ...]
    currencies: tuple[str, ...]  # the first is the usual one

    def supported_currencies(self) -> tuple[str, ...]:
        """The country's currencies that wallets can hold (payouts leave from a wallet in
        the destination's currency)."""
        return tuple(c for c in self.currencies if c in settings.SUPPORTED_CURRENCIES)


@dataclass(frozen=True, slots=True)
class BankDetails:
    """A checked, normalised bank account: what the processor is sent. ``routing_number``
    carries the national bank code in the form Stripe expects it (sort code, BSB,
    ``transit-institution``, IFSC, ABA routing number); IBAN countries have none."""

    country: str
    currency: str
    account_number: str  # the IBAN, or the national account number
    routing_number: str | None
    bic: str | None

    @property
    def last4(self) -> str:
        return self.account_number[-4:]


def _digits(name, label, lengths, help_text="") -> BankField:
    return BankField(name, label, "digits", tuple(lengths), help_text)


_IBAN = BankField("iban", _("IBAN"), "iban", help_text=_("For example DE89 3704 0044 0532 0130 00"))
_BIC_OPTIONAL = BankField(
    "bic", _("BIC (SWIFT code)"), "bic", help_text=_("8 or 11 characters"), required=False
)
_BIC_REQUIRED = BankField("bic", _("BIC (SWIFT code)"), "bic", help_text=_("8 or 11 characters"))

_SCHEMES: dict[str, tuple[BankField, ...]] = {
    "iban": (_IBAN, _BIC_OPTIONAL),
    "iban_bic": (_IBAN, _BIC_REQUIRED),
    "gb": (
        _digits("sort_code", _("Sort code"), [6], _("6 digits, for example 10-88-00")),
        _digits("account_number", _("Account number"), [8], _("8 digits")),
    ),
    "us": (
        BankField(
            "routing_number",
            _("Routing number"),
            "us_routing",
            (9,),
            _("9 digits, for example 110000000"),
        ),
        _digits("account_number", _("Account number"), range(4, 18), _("4 to 17 digits")),
    ),
    "ca": (
        _digits("transit_number", _("Transit number"), [5], _("5 digits")),
        _digits("institution_number", _("Institution number"), [3], _("3 digits")),
        _digits("account_number", _("Account number"), range(7, 13), _("7 to 12 digits")),
    ),
    "au": (
        _digits("bsb", _("BSB"), [6], _("6 digits, for example 110-000")),
        _digits("account_number", _("Account number"), range(5, 10), _("5 to 9 digits")),
    ),
    "in": (
        BankField("ifsc", _("IFSC"), "ifsc", (11,), _("11 characters, for example HDFC0000261")),
        _digits("account_number", _("Account number"), range(9, 19), _("9 to 18 digits")),
    ),
}

# SEPA: the euro area pays by IBAN alone; the other SEPA countries too, in euro or their
# own currency. Outside SEPA (Kuwait here) banks still want the BIC with the IBAN.
_EURO_AREA = (
    "AT BE CY DE EE ES FI FR GR HR IE IT LT LU LV MT NL PT SI SK".split()  # noqa: SIM905
)
_SEPA_OTHER = {
    "BG": "BGN",
    "CZ": "CZK",
    "DK": "DKK",
    "HU": "HUF",
    "IS": "ISK",
    "NO": "NOK",
    "PL": "PLN",
    "RO": "RON",
    "SE": "SEK",
    "CH": "CHF",
    "LI": "CHF",
}


def _formats() -> dict[str, BankFormat]:
    out = {c: BankFormat(c, "iban", _SCHEMES["iban"], ("EUR",)) for c in _EURO_AREA}
    for country, local in _SEPA_OTHER.items():
        out[country] = BankFormat(country, "iban", _SCHEMES["iban"], (local, "EUR"))
    out["KW"] = BankFormat("KW", "iban", _SCHEMES["iban_bic"], ("KWD",))
    out["GB"] = BankFormat("GB", "gb", _SCHEMES["gb"], ("GBP",))
    out["US"] = BankFormat("US", "us", _SCHEMES["us"], ("USD",))
    out["CA"] = BankFormat("CA", "ca", _SCHEMES["ca"], ("CAD", "USD"))
    out["AU"] = BankFormat("AU", "au", _SCHEMES["au"], ("AUD",))
    out["IN"] = BankFormat("IN", "in", _SCHEMES["in"], ("INR",))
    return out


FORMATS: Mapping[str, BankFormat] = _formats()
#: Every input name any country uses (the API accepts these, and only these).
FIELD_NAMES: tuple[str, ...] = tuple(
    dict.fromkeys(f.name for scheme in _SCHEMES.values() for f in scheme)
)


def bank_format(country: str) -> BankFormat | None:
    return FORMATS.get((country or "").strip().upper())


def bank_countries() -> list[str]:
    """Countries a payout can go to with the configured currencies, sorted by code."""
    return sorted(c for c, f in FORMATS.items() if f.supported_currencies())


def _normalise(value: str) -> str:
    # People copy numbers as printed: "DE89 3704 …", "10-88-00", "hdfc0000261".
    return "".join(ch for ch in str(value) if ch not in " -\t\u00a0").upper()


def _check(spec: BankField, value: str, country: str) -> tuple[str, str | None]:
    """``(normalised value, error code or None)`` for one field."""
    if not value.isascii():
        # Other scripts' digits ("٨٩") and look-alike letters are never a bank number.
        return value, NOT_DIGITS if spec.kind in {"digits", "us_routing"} else BAD_FORMAT
    if spec.kind == "iban":
        try:
            iban = IBAN(value)
        except iban_errors.InvalidChecksumDigits:
            return value, WRONG_CHECKSUM
        except iban_errors.InvalidBBANChecksum:
            return value, WRONG_CHECKSUM
        except iban_errors.InvalidLength:
            return value, WRONG_LENGTH
        except iban_errors.InvalidCountryCode:
            return value, COUNTRY_MISMATCH
        except iban_errors.SchwiftyException:
            return value, BAD_FORMAT
        if iban.country_code != country:
            return iban.compact, COUNTRY_MISMATCH
        return iban.compact, None
    if spec.kind == "bic":
        if len(value) not in (8, 11):
            return value, WRONG_LENGTH
        try:
            bic = BIC(value)
        except iban_errors.InvalidCountryCode:
            return value, COUNTRY_MISMATCH
        except iban_errors.SchwiftyException:
            return value, BAD_FORMAT
        return bic.compact, None
    if spec.kind == "ifsc":
        # Four letters for the bank, a zero, six letters or digits for the branch (RBI).
        if len(value) != 11:
            return value, WRONG_LENGTH
        if not (
            value.isascii() and value[:4].isalpha() and value[4] == "0" and value[5:].isalnum()
        ):
            return value, BAD_FORMAT
        return value, None
    # digits and us_routing
    if not (value.isascii() and value.isdigit()):
        return value, NOT_DIGITS
    if len(value) not in spec.lengths:
        return value, WRONG_LENGTH
    if spec.kind == "us_routing" and not rtn.is_valid(value):
        return value, WRONG_CHECKSUM
    return value, None


def bank_details_validate(
    *, country: str, currency: str | None, values: Mapping[str, str]
) -> BankDetails:
    """Check and normalise a bank account for ``country``; ``currency`` empty means the
    country's usual one. Raises ``InvalidBankDetails`` with every field's reason in
    ``details["fields"]`` (``{"iban": "bank_field_checksum", ...}``)."""
    country = (country or "").strip().upper()
    fmt = FORMATS.get(country)
    if fmt is None or not fmt.supported_currencies():
        raise InvalidBankDetails(details={"fields": {"country": COUNTRY_UNSUPPORTED}})
    errors: dict[str, str] = {}
    currency = (currency or "").strip().upper() or fmt.supported_currencies()[0]
    if currency not in fmt.supported_currencies():
        errors["currency"] = CURRENCY_UNSUPPORTED
    clean: dict[str, str] = {}
    for spec in fmt.fields:
        raw = str(values.get(spec.name) or "")[:MAX_FIELD_LENGTH]
        value = _normalise(raw)
        if not value:
            if spec.required:
                errors[spec.name] = REQUIRED
            continue
        value, error = _check(spec, value, country)
        if error:
            errors[spec.name] = error
        else:
            clean[spec.name] = value
    if "bic" in clean and "iban" in clean and clean["bic"][4:6] != clean["iban"][:2]:
        errors["bic"] = COUNTRY_MISMATCH
    if errors:
        raise InvalidBankDetails(details={"fields": errors, "country": country})
    return BankDetails(
        country=country,
        currency=currency,
        account_number=clean.get("iban") or clean["account_number"],
        routing_number=_routing(fmt.scheme, clean),
        bic=clean.get("bic"),
    )


def _routing(scheme: str, clean: Mapping[str, str]) -> str | None:
    """The national bank code in the one field Stripe's external accounts take."""
    if scheme == "iban":
        return None
    if scheme == "ca":
        return f"{clean['transit_number']}-{clean['institution_number']}"
    name = {"gb": "sort_code", "us": "routing_number", "au": "bsb", "in": "ifsc"}[scheme]
    return clean[name]


def field_names_of(country: str) -> Iterable[str]:
    fmt = bank_format(country)
    return [f.name for f in fmt.fields] if fmt else []
