"""FX rate sources behind one interface, like the card processor adapters.

A source returns a ``RateTable``: mid-market rates against one base currency, stamped with
the time they describe. Rates are ``Decimal``; no float is involved anywhere, so a rate read
from a feed is exactly the rate used.

* ``SandboxRateSource`` — a fixed table that moves deterministically with the clock (integer
  arithmetic only), for development and tests: the same instant always gives the same rates.
* ``EcbRateSource`` — the European Central Bank's daily euro foreign exchange reference rates
  (the public ``eurofxref-daily.xml`` feed). Published once per working day around 16:00 CET.

Callers must refuse a table older than the configured maximum age (``ensure_fresh``) rather
than quote from it.
"""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Protocol
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

from django.utils.translation import gettext_lazy as _

from core.exceptions import DomainError

RATE_PLACES = Decimal("0.0000000001")


class RateUnavailable(DomainError):
    code = "rate_unavailable"
    status = 503
    default_message = _("No exchange rate is available for this currency pair right now.")


class RateStale(DomainError):
    code = "rate_stale"
    status = 503
    default_message = _("The latest exchange rate is too old to be used. Please try again later.")


class RateFeedInvalid(DomainError):
    code = "rate_feed_invalid"
    status = 502
    default_message = _("The exchange rate feed could not be read.")


@dataclass(frozen=True)
class RateTable:
    """Mid-market rates: one unit of ``base`` buys ``rates[currency]`` units of currency."""

    source: str
    base: str
    as_of: datetime
    rates: dict[str, Decimal] = field(default_factory=dict)

    def currencies(self) -> set[str]:
        return {self.base, *self.rates}

    def mid(self, source_currency: str, target_currency: str) -> Decimal:
        """Units of ``target_currency`` for one unit of ``source_currency`` (crossed via base)."""
        if source_currency == target_currency:
            return Decimal(1)
        try:
            source_per_base = (
                Decimal(1) if source_currency == self.base else self.rates[source_currency]
            )
            target_per_base = (
                Decimal(1) if target_currency == self.base else self.rates[target_currency]
            )
        except KeyError as exc:
            raise RateUnavailable(
                details={"source_currency": source_currency, "target_currency": target_currency}
            ) from exc
        return (target_per_base / source_per_base).quantize(RATE_PLACES)

    def ensure_fresh(self, *, now: datetime, max_age: timedelta) -> RateTable:
        if now - self.as_of > max_age:
            raise RateStale(details={"as_of": self.as_of.isoformat(), "source": self.source})
        return self


class RateSource(Protocol):
    name: str
    max_age: timedelta

    def fetch(self, *, now: datetime) -> RateTable: ...


# Mid-market rates per 1 EUR, close to late-2026 levels; the sandbox moves around these.
SANDBOX_BASE_RATES = {
    "USD": Decimal("1.0800"),
    "GBP": Decimal("0.8600"),
    "CHF": Decimal("0.9400"),
    "JPY": Decimal("162.50"),
    "BRL": Decimal("5.9000"),
    "INR": Decimal("90.2000"),
    "KWD": Decimal("0.3320"),
    "CAD": Decimal("1.4800"),
    "AUD": Decimal("1.6400"),
}


class SandboxRateSource:
    """Deterministic rates: each currency drifts ±0.30% along a triangle wave over a day.

    The wave is computed in integers from the minute of the day, so two processes asking at
    the same minute get identical rates, and tests can pin a time and know the answer.
    """

    name = "sandbox"
    max_age = timedelta(minutes=5)
    AMPLITUDE_BP = 30  # basis points either side of the base rate

    def fetch(self, *, now: datetime) -> RateTable:
        minute = now.astimezone(UTC).replace(second=0, microsecond=0)
        minute_of_day = minute.hour * 60 + minute.minute
        rates = {}
        for index, (currency, base_rate) in enumerate(sorted(SANDBOX_BASE_RATES.items())):
            phase = (minute_of_day + index * 97) % 1440
            # Triangle wave in [-AMPLITUDE, +AMPLITUDE] basis points, integer arithmetic.
            half = 720
            offset_bp = (
                (phase * 2 * self.AMPLITUDE_BP) // half - self.AMPLITUDE_BP
                if phase < half
                else self.AMPLITUDE_BP - ((phase - half) * 2 * self.AMPLITUDE_BP) // half
            )
            rates[currency] = (base_rate * (Decimal(10000 + offset_bp) / Decimal(10000))).quantize(
                RATE_PLACES
            )
        return RateTable(source=self.name, base="EUR", as_of=minute, rates=rates)


ECB_DAILY_URL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"
_ECB_NS = {
    "gesmes": "http://www.gesmes.org/xml/2002-08-01",
    "ecb": "http://www.ecb.int/vocabulary/2002-08-01/eurofxref",
}
_ECB_PUBLICATION = time(16, 0, tzinfo=ZoneInfo("Europe/Berlin"))
MAX_FEED_BYTES = 256 * 1024


class EcbRateSource:
    """The ECB's daily reference rates (EUR base).

    ``max_age`` allows for weekends and TARGET holidays, when no rates are published.
    """

    name = "ecb"
    max_age = timedelta(days=4)

    def __init__(self, *, url: str = ECB_DAILY_URL, timeout: float = 10.0):
        self.url = url
        self.timeout = timeout

    def fetch(self, *, now: datetime) -> RateTable:
        if not self.url.startswith(("https://", "http://", "file://")):
            raise RateFeedInvalid("The ECB feed URL must be http(s) or a file.")
        try:
            with urllib.request.urlopen(self.url, timeout=self.timeout) as response:  # noqa: S310
                body = response.read(MAX_FEED_BYTES + 1)
        except OSError as exc:
            raise RateUnavailable("The ECB rate feed could not be reached.") from exc
        if len(body) > MAX_FEED_BYTES:
            raise RateFeedInvalid("The ECB rate feed is larger than expected.")
        return self.parse(body)

    @classmethod
    def parse(cls, body: bytes) -> RateTable:
        """Read the feed's ``Cube time=… / Cube currency=… rate=…`` elements."""
        try:
            # The feed is small and DTD-free; expat (>= 2.4.1) refuses entity expansion bombs.
            root = ElementTree.fromstring(body)  # noqa: S314
        except ElementTree.ParseError as exc:
            raise RateFeedInvalid() from exc
        day_cube = root.find("ecb:Cube/ecb:Cube[@time]", _ECB_NS)
        if day_cube is None:
            raise RateFeedInvalid("The ECB feed has no dated rates.")
        try:
            day = datetime.strptime(day_cube.attrib["time"], "%Y-%m-%d").date()
        except ValueError as exc:
            raise RateFeedInvalid("The ECB feed has an invalid date.") from exc
        rates: dict[str, Decimal] = {}
        for cube in day_cube.findall("ecb:Cube[@currency]", _ECB_NS):
            currency = cube.attrib["currency"]
            try:
                rate = Decimal(cube.attrib["rate"])
            except (KeyError, InvalidOperation) as exc:
                raise RateFeedInvalid(f"Invalid rate for {currency}.") from exc
            if len(currency) != 3 or not currency.isascii() or not currency.isupper():
                raise RateFeedInvalid(f"Invalid currency code {currency!r}.")
            if not rate.is_finite() or rate <= 0:
                raise RateFeedInvalid(f"Invalid rate for {currency}.")
            rates[currency] = rate
        if not rates:
            raise RateFeedInvalid("The ECB feed lists no rates.")
        as_of = datetime.combine(day, _ECB_PUBLICATION.replace(tzinfo=None)).replace(
            tzinfo=_ECB_PUBLICATION.tzinfo
        )
        return RateTable(source=cls.name, base="EUR", as_of=as_of.astimezone(UTC), rates=rates)


def get_rate_source(name: str | None = None) -> RateSource:
    from django.conf import settings

    name = name or getattr(settings, "FX_RATE_SOURCE", "sandbox")
    if name == "sandbox":
        return SandboxRateSource()
    if name == "ecb":
        return EcbRateSource(url=getattr(settings, "FX_ECB_URL", ECB_DAILY_URL))
    raise ValueError(f"unknown FX rate source {name!r}")
