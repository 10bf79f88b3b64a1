"""FX rate sources: the deterministic sandbox and the ECB feed, read offline from a stored copy."""

from __future__ import annotations

import http.server
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from payments.fx.sources import (
    EcbRateSource,
    RateFeedInvalid,
    RateStale,
    RateUnavailable,
    SandboxRateSource,
    get_rate_source,
)

FEED = Path(__file__).parent / "data" / "eurofxref-daily.xml"
NOON = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_sandbox_rates_are_deterministic_for_an_instant_and_move_over_time():
    source = SandboxRateSource()
    a = source.fetch(now=NOON)
    b = source.fetch(now=NOON + timedelta(seconds=40))  # same minute
    later = source.fetch(now=NOON + timedelta(hours=3))

    assert a == b
    assert a.as_of == NOON
    assert a.base == "EUR"
    assert a.rates != later.rates
    for currency, rate in a.rates.items():
        assert isinstance(rate, Decimal)
        base = {"USD": "1.08", "JPY": "162.5", "KWD": "0.332"}.get(currency)
        if base:
            # Never more than 0.30% away from the anchor rate.
            assert abs(rate / Decimal(base) - 1) <= Decimal("0.003")


def test_cross_rates_go_through_the_base_currency():
    table = SandboxRateSource().fetch(now=NOON)
    eur_usd = table.mid("EUR", "USD")
    usd_eur = table.mid("USD", "EUR")
    usd_jpy = table.mid("USD", "JPY")

    assert eur_usd == table.rates["USD"].quantize(Decimal("0.0000000001"))
    assert abs(eur_usd * usd_eur - 1) < Decimal("0.000000001")
    assert usd_jpy == (table.rates["JPY"] / table.rates["USD"]).quantize(Decimal("0.0000000001"))
    assert table.mid("GBP", "GBP") == 1


def test_unknown_currency_is_unavailable_with_a_stable_code():
    table = SandboxRateSource().fetch(now=NOON)
    with pytest.raises(RateUnavailable) as excinfo:
        table.mid("EUR", "XAU")
    assert excinfo.value.code == "rate_unavailable"


def test_a_stale_table_is_refused_not_used():
    table = SandboxRateSource().fetch(now=NOON)
    assert table.ensure_fresh(now=NOON + timedelta(minutes=4), max_age=timedelta(minutes=5))
    with pytest.raises(RateStale) as excinfo:
        table.ensure_fresh(now=NOON + timedelta(minutes=6), max_age=timedelta(minutes=5))
    assert excinfo.value.code == "rate_stale"


def test_ecb_feed_is_parsed_exactly():
    table = EcbRateSource.parse(FEED.read_bytes())

    assert table.source == "ecb"
    assert table.base == "EUR"
    # 16:00 in Frankfurt on the feed's date (CET in November = UTC+1).
    assert table.as_of == datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    assert table.rates["USD"] == Decimal("1.0800")
    assert table.rates["JPY"] == Decimal("162.48")
    assert table.rates["GBP"] == Decimal("0.85930")
    assert len(table.rates) == 30
    assert table.mid("EUR", "USD") == Decimal("1.0800000000")


def test_ecb_rates_survive_a_weekend_but_not_a_week():
    table = EcbRateSource.parse(FEED.read_bytes())
    monday_morning = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    table.ensure_fresh(now=monday_morning, max_age=EcbRateSource.max_age)
    with pytest.raises(RateStale):
        table.ensure_fresh(now=monday_morning + timedelta(days=4), max_age=EcbRateSource.max_age)


@pytest.mark.parametrize(
    "body",
    [
        b"not xml at all",
        b"<gesmes:Envelope xmlns:gesmes='http://www.gesmes.org/xml/2002-08-01'/>",
        FEED.read_bytes().replace(b"rate='1.0800'", b"rate='NaN'"),
        FEED.read_bytes().replace(b"rate='1.0800'", b"rate='-1'"),
        FEED.read_bytes().replace(b"2026-11-20", b"20-11-2026"),
        FEED.read_bytes().replace(b"currency='USD'", b"currency='usd'"),
    ],
)
def test_a_broken_feed_is_refused(body):
    with pytest.raises(RateFeedInvalid):
        EcbRateSource.parse(body)


def test_ecb_source_fetches_over_http_from_a_local_server():
    body = FEED.read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/xml")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        source = EcbRateSource(url=f"http://127.0.0.1:{server.server_port}/eurofxref-daily.xml")
        table = source.fetch(now=NOON)
    finally:
        server.shutdown()
    assert table.rates["CHF"] == Decimal("0.9402")


def test_ecb_source_reports_an_unreachable_feed_as_unavailable():
    source = EcbRateSource(url="http://127.0.0.1:1/eurofxref-daily.xml", timeout=1)
    with pytest.raises(RateUnavailable):
        source.fetch(now=NOON)


def test_source_is_chosen_by_setting(settings):
    settings.FX_RATE_SOURCE = "ecb"
    assert get_rate_source().name == "ecb"
    settings.FX_RATE_SOURCE = "sandbox"
    assert get_rate_source().name == "sandbox"
