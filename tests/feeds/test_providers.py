"""Each provider against its fixture server: recorded vendor responses parsed into the
workstation's types, pagination, symbol mapping, and the vendor-specific edge cases."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest

from core.feeds.finnhub import FinnhubClient
from core.feeds.http import EMPTY, ProviderError
from core.feeds.polygon import MAX_LIMIT, PolygonFeed, PolygonRest
from core.feeds.symbols import asset_class, front_month, polygon_ticker, tradier_symbol, yahoo_ticker
from core.feeds.tradier import TradierClient
from core.feeds.yahoo import YahooClient, YahooFeed
from core.market.intervals import D1, H1, M1
from tests.conftest import shared_data_dir
from tests.feeds.conftest import FAST, PAGE, load_fixture, real_minutes, session_window_ns
from tests.feeds.servers import FixtureServer

NY = "America/New_York"


async def test_polygon_aggregates_follow_next_url_on_the_configured_host(polygon_srv: FixtureServer) -> None:
    feed = PolygonFeed(PolygonRest("key", polygon_srv.url, config=FAST))
    start, end = session_window_ns("2013-10-10")
    bars = await feed.history("SPY", M1, start_ns=start, end_ns=end)
    expected = real_minutes("SPY").between(start, end)
    assert bars.equals(expected)
    pages = [r for r in polygon_srv.requests if r.path.startswith("/v2/aggs")]
    assert len(pages) == -(-len(expected) // PAGE) and len(pages) > 1   # every page fetched, from 127.0.0.1
    assert pages[0].query["limit"] == str(MAX_LIMIT) and "cursor" in pages[-1].query
    assert all(r.headers["authorization"] == "Bearer key" for r in pages)  # key never in the URL
    await feed.stop()


async def test_polygon_hourly_bars_start_at_the_open_and_daily_at_the_session(polygon_srv: FixtureServer) -> None:
    feed = PolygonFeed(PolygonRest("key", polygon_srv.url, config=FAST))
    start, end = session_window_ns("2013-10-10")
    hours = await feed.history("SPY", H1, start_ns=start, end_ns=end)
    et = pd.DatetimeIndex(hours.ts.view("datetime64[ns]")).tz_localize("UTC").tz_convert(NY)
    assert [t.strftime("%H:%M") for t in et] == ["09:30", "10:30", "11:30", "12:30", "13:30", "14:30", "15:30"]
    rth = real_minutes("SPY").between(start, end)
    assert hours.high.max() == rth.high.max() and hours.volume.sum() == rth.volume.sum()
    days = await feed.history("AAPL", D1, start_ns=pd.Timestamp("2005-04-01", tz=NY).value,
                              end_ns=pd.Timestamp("2005-04-05", tz=NY).value)
    rec = load_fixture("polygon/rest/v2__aggs__ticker__AAPL__range__1__day__2005-04-01__2005-04-04.json")
    assert days.close.tolist() == [r["c"] for r in rec["results"]]
    opens = pd.DatetimeIndex(days.ts.view("datetime64[ns]")).tz_localize("UTC").tz_convert(NY)
    assert [t.strftime("%Y-%m-%d %H:%M") for t in opens] == ["2005-04-01 09:30", "2005-04-04 09:30"]
    await feed.stop()


async def test_polygon_snapshots_prev_close_and_market_status(polygon_srv: FixtureServer) -> None:
    rest = PolygonRest("key", polygon_srv.url, config=FAST)
    prev = await rest.prev_close("AAPL")
    assert prev.price == 156.8 and prev.ts == 1651003200000 * 1_000_000
    snap = await rest.quote("AAPL")
    assert (snap.price, snap.bid, snap.ask, snap.prev_close) == (159.99, 159.98, 159.99, 163.64)
    idx = await rest.index_snapshot(["SPX", "APx", "APy"])
    assert list(idx) == ["SPX"] and idx["SPX"].price == 3822.39   # NOT_FOUND / NOT_ENTITLED left out
    assert polygon_srv.requests[-1].query["ticker.any_of"] == "I:SPX,I:APX,I:APY"
    chain = await rest.options_chain("AAPL")
    assert len(chain) == 1 and chain.source == "polygon" and chain.underlying_price == 159.9606
    assert chain.iv[0] == pytest.approx(0.3570277203465058) and chain.delta[0] == pytest.approx(0.6436614934293701)
    st = await rest.market_status()
    assert st.market == "extended-hours" and st.after_hours and st.exchanges["nyse"] == "extended-hours"
    await rest.aclose()


async def test_polygon_options_chain_pages_join(polygon_srv: FixtureServer) -> None:
    rest = PolygonRest("key", polygon_srv.url, config=FAST, now=lambda: datetime(2015, 12, 24, 17, tzinfo=UTC))
    chain = await rest.options_chain("GOOG")
    lean = pd.read_csv(shared_data_dir() / "options" / "GOOG_option_universe_20151224_lean.csv")
    assert len(chain) == len(lean) - 1   # every contract of every page, underlying row excluded
    assert len([r for r in polygon_srv.requests if r.path == "/v3/snapshot/options/GOOG"]) == -(-(len(lean) - 1) // 250)
    await rest.aclose()


async def test_yahoo_chart_keeps_split_and_dividend_events(yahoo_srv: FixtureServer) -> None:
    y = YahooClient(yahoo_srv.url, config=FAST)
    aapl = await y.chart("AAPL", "1d", 0, 1)
    assert [(s.numerator, s.denominator) for s in aapl.splits] == [(4.0, 1.0)]
    assert [d.amount for d in aapl.dividends] == [0.205] and len(aapl.bars) == 49
    nvda = await y.chart("NVDA", "1d", 0, 1)
    assert [(s.numerator, s.denominator) for s in nvda.splits] == [(4.0, 1.0)] and len(nvda.bars) == 252
    msft = await y.chart("MSFT", "1d", 0, 1)
    assert [d.amount for d in msft.dividends] == [0.56, 0.56, 0.56, 0.62] and msft.adjclose is not None
    await y.aclose()


async def test_yahoo_empty_weekend_result_is_a_clean_empty_error(yahoo_srv: FixtureServer) -> None:
    yahoo_srv.fault = "empty"  # the recorded 1-minute request over a weekend: zero bars
    feed = YahooFeed(YahooClient(yahoo_srv.url, config=FAST))
    with pytest.raises(ProviderError) as exc:
        await feed.history("AAPL", M1)
    assert exc.value.reason == EMPTY
    await feed.stop()


async def test_yahoo_options_and_futures_tickers(yahoo_srv: FixtureServer) -> None:
    y = YahooClient(yahoo_srv.url, config=FAST)
    chain = await y.options("QQQ")
    assert chain.source == "yahoo" and chain.underlying_price == 526.12
    assert chain.is_call.any() and (~chain.is_call).any()
    assert yahoo_ticker("SPX", date(2025, 1, 2)) == "^GSPC" and yahoo_ticker("MNQ1!", date(2025, 1, 2)) == "MNQ=F"
    assert yahoo_ticker("SPX", date(2025, 1, 2), options=True) == "^SPX"
    await y.aclose()


async def test_tradier_quotes_expirations_and_chain_with_greeks(tradier_srv: FixtureServer) -> None:
    tr = TradierClient("tok", tradier_srv.url, config=FAST, today=lambda: date(2024, 7, 7), max_dte=1000,
                       max_expiries=30)
    q = await tr.quotes(["SPY", "SPY251219P00450000"])
    assert q["SPY"].price == 547.94 and q["SPY251219P00450000"].bid == 10.2
    assert (await tr.expirations("PLTR"))[-1] == date(2026, 12, 18)
    chain = await tr.chain("PLTR")
    rec = load_fixture("tradier/markets_options_chains_PLTR_2026-12-18_excerpt_20240707.json")
    rec = rec["body"]["options"]["option"]
    assert len(chain) == len(rec) and chain.underlying_price == 27.23
    assert np.allclose(chain.delta, [o["greeks"]["delta"] for o in rec])
    assert np.allclose(chain.iv, [o["greeks"]["mid_iv"] for o in rec])
    chains = [r for r in tradier_srv.requests if r.path == "/v1/markets/options/chains"]
    assert all(r.query["greeks"] == "true" for r in chains) and len(chains) == 18
    await tr.aclose()


async def test_finnhub_enrichment_is_cached(finnhub_srv: FixtureServer) -> None:
    fh = FinnhubClient("f", finnhub_srv.url, config=FAST)
    s1 = await fh.news_sentiment("aapl")
    s2 = await fh.news_sentiment("AAPL")
    assert s1 == s2 and s1.bullish_pct == 0.75 and s1.buzz == 0.8
    ev = await fh.economic_calendar(date(2024, 7, 1), date(2024, 7, 7))
    assert ev[0].event == "Nonfarm Payrolls" and ev[0].actual == 206
    earn = await fh.earnings_calendar(date(2024, 7, 1), date(2024, 8, 31), "AAPL")
    assert earn[0].hour == "amc" and earn[0].date == date(2024, 8, 1)
    assert [r.path for r in finnhub_srv.requests].count("/news-sentiment") == 1
    assert finnhub_srv.requests[0].headers["x-finnhub-token"] == "f"
    await fh.aclose()


@pytest.mark.parametrize(("symbol", "day", "polygon", "kind"), [
    ("ES1!", date(2025, 12, 10), "ESZ5", "future"),      # before the Dec roll (Thursday Dec 11)
    ("ES1!", date(2025, 12, 11), "ESH6", "future"),
    ("MNQ1!", date(2026, 3, 1), "MNQH6", "future"),
    ("MES2!", date(2026, 3, 1), "MESM6", "future"),
    ("NQ", date(2026, 6, 20), "NQU6", "future"),
    ("ESZ25", date(2025, 6, 1), "ESZ5", "future"),
    ("SPX", date(2025, 6, 1), "I:SPX", "index"),
    ("I:NDX", date(2025, 6, 1), "I:NDX", "index"),
    ("SPY", date(2025, 6, 1), "SPY", "equity"),
])
def test_vendor_tickers(symbol: str, day: date, polygon: str, kind: str) -> None:
    assert polygon_ticker(symbol, day) == polygon and asset_class(symbol).value == kind
    assert not polygon.startswith("C:")
    assert tradier_symbol(symbol) == (None if kind == "future" else polygon.removeprefix("I:"))


def test_front_month_rolls_eight_days_before_the_third_friday() -> None:
    # March 2026: third Friday the 20th -> roll on Thursday the 12th.
    assert front_month("ES", date(2026, 3, 11)).ticker() == "ESH6"
    assert front_month("ES", date(2026, 3, 12)).ticker() == "ESM6"
