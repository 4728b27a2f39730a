"""Fixtures for the provider tests: vendor servers on 127.0.0.1 that replay the recorded
responses in ../shared/data/fixtures and real minute bars from ../shared/data/intraday shaped as
each vendor's JSON; a real replay feed for the last-resort fallback; short client timeouts."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from core.clock import ReplayClock
from core.feeds.http import HttpConfig
from core.feeds.replay import ReplayFeed
from core.market.bars import Bars
from core.market.bundle import BarLibrary
from core.paths import bundled_data_dir
from tests.conftest import shared_data_dir
from tests.feeds.servers import FixtureServer, Response

MS = 1_000_000
PAGE = 100  # rows per Polygon page in the fixture server: forces next_url pagination
FAST = HttpConfig(connect_timeout_s=0.3, read_timeout_s=0.3, retries=1, backoff_s=0.02, backoff_max_s=0.05,
                  max_retry_after_s=0.5, max_queue_wait_s=0.5, seed=7)
TODAY = date(2026, 11, 22)


def fixtures_dir() -> Path:
    return shared_data_dir() / "fixtures"


def load_fixture(rel: str) -> Any:
    return json.loads((fixtures_dir() / rel).read_text())


def fixture_body(rel: str) -> Response:
    """A recorded response: yahoo/tradier files wrap the body in {"body": ...}, polygon's are bare."""
    data = load_fixture(rel)
    return Response.json(data["body"] if isinstance(data, dict) and "body" in data else data)


_MINUTES: dict[str, Bars] = {}


def real_minutes(symbol: str) -> Bars:
    """Real 1-minute trade bars (Lean samples, incl. extended hours) of one symbol."""
    if symbol not in _MINUTES:
        df = pd.read_csv(shared_data_dir() / "intraday" / "lean_equity_1min_samples.csv")
        df = df[df["symbol"] == symbol]
        ts = pd.to_datetime(df["bar_start_et"], utc=True).dt.as_unit("ns").array.asi8
        _MINUTES[symbol] = Bars.from_arrays(ts, df["open"], df["high"], df["low"], df["close"], df["volume"])
    return _MINUTES[symbol]


def session_window_ns(day: str) -> tuple[int, int]:
    start = pd.Timestamp(f"{day} 09:30", tz="America/New_York").value
    return start, pd.Timestamp(f"{day} 16:00", tz="America/New_York").value


def polygon_rows(bars: Bars) -> list[dict[str, Any]]:
    return [{"v": float(bars.volume[i]), "o": float(bars.open[i]), "c": float(bars.close[i]),
             "h": float(bars.high[i]), "l": float(bars.low[i]), "t": int(bars.ts[i]) // MS, "n": 1}
            for i in range(len(bars))]


def clock_buckets(bars: Bars, minutes: int) -> Bars:
    """What Polygon returns for n-minute aggregates: buckets on the clock (UTC epoch multiples)."""
    key = bars.ts - bars.ts % (minutes * 60_000_000_000)
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    ends = np.r_[starts[1:], len(key)] - 1
    return Bars(key[starts], bars.open[starts], np.maximum.reduceat(bars.high, starts),
                np.minimum.reduceat(bars.low, starts), bars.close[ends], np.add.reduceat(bars.volume, starts))


class PolygonData:
    """What the Polygon fixture server knows: real minutes per ticker; `visible` limits REST to
    the bars "published" so far (the WebSocket test moves it)."""

    def __init__(self) -> None:
        self.minutes: dict[str, Bars] = {}
        self.visible: dict[str, int] = {}
        self.limits_seen: list[int] = []

    def bars(self, ticker: str) -> Bars:
        b = self.minutes.get(ticker)
        if b is None:
            b = self.minutes[ticker] = real_minutes(ticker)
        n = self.visible.get(ticker)
        return b if n is None else b[:n]


def polygon_server(data: PolygonData | None = None) -> FixtureServer:
    data = data or PolygonData()
    srv = FixtureServer("polygon")
    srv.empty_body = Response.json({"ticker": "SPY", "queryCount": 0, "resultsCount": 0, "adjusted": True,
                                    "results": [], "status": "OK", "request_id": "e", "count": 0})
    srv.auth_body = Response.json({"status": "ERROR", "request_id": "a", "error": "Unknown API Key"}, 401)

    def aggs(path: str, q: dict[str, str]) -> Response:
        parts = path.strip("/").split("/")  # v2 aggs ticker T range N unit from to | v2 aggs ticker T prev
        tk = parts[3]
        if parts[4] == "prev":
            return fixture_body("polygon/rest/v2__aggs__ticker__AAPL__prev.json")
        mult, unit, frm, to = int(parts[5]), parts[6], int(parts[7]), int(parts[8])
        data.limits_seen.append(int(q.get("limit", "5000")))
        if unit == "day" and tk == "AAPL":
            return fixture_body("polygon/rest/v2__aggs__ticker__AAPL__range__1__day__2005-04-01__2005-04-04.json")
        bars = data.bars(tk)
        if unit == "minute" and mult > 1:
            bars = clock_buckets(bars, mult)
        bars = bars.between(frm * MS, to * MS + 1)
        rows = polygon_rows(bars)
        off = int(q.get("cursor", "0"))
        page = rows[off:off + min(PAGE, int(q.get("limit", "5000")))]
        body: dict[str, Any] = {"ticker": tk, "queryCount": len(page), "resultsCount": len(page), "adjusted": True,
                                "results": page, "status": "OK", "request_id": "r", "count": len(page)}
        if off + len(page) < len(rows):
            # Absolute vendor URL, as Polygon sends it: the client must keep its configured host.
            body["next_url"] = f"https://api.polygon.io{path}?cursor={off + len(page)}"
        return Response.json(body)

    def options(path: str, q: dict[str, str]) -> Response:
        und = path.rsplit("/", 1)[-1]
        if und == "AAPL":
            return fixture_body("polygon/rest/v3__snapshot__options__AAPL.json")
        rows = goog_snapshot_rows()
        off = int(q.get("cursor", "0"))
        body: dict[str, Any] = {"status": "OK", "request_id": "o", "results": rows[off:off + 250]}
        if off + 250 < len(rows):
            body["next_url"] = f"https://api.polygon.io{path}?cursor={off + 250}"
        return Response.json(body)

    srv.route("/v2/aggs/ticker/", aggs, prefix=True)
    srv.route("/v2/snapshot/locale/us/markets/stocks/tickers/AAPL",
              lambda p, q: fixture_body("polygon/rest/v2__snapshot__locale__us__markets__stocks__tickers__AAPL.json"))
    srv.route("/v3/snapshot/indices",
              lambda p, q: fixture_body("polygon/rest/v3__snapshot__indices_ticker.any_of_SPX_2CAPx_2CAPy.json"))
    srv.route("/v3/snapshot/options/", options, prefix=True)
    srv.route("/v1/marketstatus/now", lambda p, q: fixture_body("polygon/rest/v1__marketstatus__now.json"))
    return srv


def goog_snapshot_rows() -> list[dict[str, Any]]:
    """The real GOOG 2015-12-24 Lean universe (vendor IV and greeks) shaped as Polygon's options
    chain snapshot rows."""
    path = shared_data_dir() / "options" / "GOOG_option_universe_20151224_lean.csv"
    df = pd.read_csv(path)
    df.columns = [c.lstrip("#") for c in df.columns]
    spot = float(df.iloc[0]["close"])
    rows = []
    for r in df.iloc[1:].itertuples(index=False):
        exp = str(int(r.expiry))
        iso = f"{exp[:4]}-{exp[4:6]}-{exp[6:]}"
        kind = "call" if r.right == "C" else "put"
        rows.append({
            "details": {"contract_type": kind, "expiration_date": iso, "strike_price": float(r.strike),
                        "ticker": f"O:GOOG{exp[2:]}{r.right}{round(r.strike * 1000):08d}"},
            "greeks": {"delta": r.delta, "gamma": r.gamma, "theta": r.theta, "vega": r.vega},
            "implied_volatility": float(r.implied_volatility), "open_interest": r.open_interest,
            "day": {"close": r.close, "volume": r.volume},
            "underlying_asset": {"ticker": "GOOG", "price": spot},
        })
    return rows


def yahoo_server() -> FixtureServer:
    srv = FixtureServer("yahoo")
    srv.empty_body = fixture_body("yahoo/chart-AAPL-2025-02-01-to-2025-02-02-includePrePost-false-interval-1m.json")
    srv.auth_body = Response.json({"finance": {"result": None, "error": {"code": "Unauthorized",
                                                                           "description": "Invalid Crumb"}}}, 401)

    def chart(path: str, q: dict[str, str]) -> Response:
        tk = path.rsplit("/", 1)[-1]
        if q.get("interval") == "1d":
            name = {"AAPL": "chart-AAPL-2020-08-31-to-2020-11-07.json",
                    "MSFT": "historical-via-chart-MSFT-dividends-2021-02-01-to-2022-01-31.csv.json",
                    "NVDA": "historical-via-chart-NVDA-split-2021-02-01-to-2022-01-31.csv.json"}[tk]
            return fixture_body(f"yahoo/{name}")
        bars = real_minutes(tk).between(int(q["period1"]) * 10**9, int(q["period2"]) * 10**9)
        return Response.json({"chart": {"result": [{
            "meta": {"symbol": tk, "dataGranularity": q.get("interval"), "exchangeTimezoneName": "America/New_York"},
            "timestamp": [int(t) // 10**9 for t in bars.ts],
            "indicators": {"quote": [{"open": bars.open.tolist(), "high": bars.high.tolist(),
                                      "low": bars.low.tolist(), "close": bars.close.tolist(),
                                      "volume": bars.volume.tolist()}]}}], "error": None}})

    srv.route("/v8/finance/chart/", chart, prefix=True)
    srv.route("/v7/finance/options/", lambda p, q: fixture_body(f"yahoo/options-{p.rsplit('/', 1)[-1]}.json"),
              prefix=True)
    srv.route("/v7/finance/quote", lambda p, q: fixture_body(f"yahoo/quote-{q['symbols']}.json"))
    return srv


def tradier_server() -> FixtureServer:
    srv = FixtureServer("tradier")
    srv.empty_body = Response.json({"quotes": {"unmatched_symbols": {"symbol": "ZZZZ"}}})
    rec = load_fixture("tradier/error_401_invalid_access_token.json")
    srv.auth_body = Response(401, rec["body_text"].encode(), rec["content_type"])

    def quotes(path: str, q: dict[str, str]) -> Response:
        if q["symbols"] == "PLTR":
            return fixture_body("tradier/markets_quotes_PLTR_20240707.json")
        return fixture_body("tradier/markets_quotes_SPY_and_option_greeks_20240628.json")

    def chains(path: str, q: dict[str, str]) -> Response:
        if q.get("expiration") == "2026-12-18" and q.get("greeks") == "true":
            return fixture_body("tradier/markets_options_chains_PLTR_2026-12-18_excerpt_20240707.json")
        return Response.json({"options": None})  # Tradier's answer when it has nothing

    srv.route("/v1/markets/quotes", quotes)
    srv.route("/v1/markets/options/expirations",
              lambda p, q: fixture_body("tradier/markets_options_expirations_PLTR_20240707.json"))
    srv.route("/v1/markets/options/chains", chains)
    return srv


# Finnhub: no recorded responses exist in the shared fixtures; these follow the documented shapes.
FINNHUB_SENTIMENT = {"buzz": {"articlesInLastWeek": 20, "buzz": 0.8, "weeklyAverage": 25},
                     "companyNewsScore": 0.61, "sectorAverageBullishPercent": 0.55, "sectorAverageNewsScore": 0.51,
                     "sentiment": {"bearishPercent": 0.25, "bullishPercent": 0.75}, "symbol": "AAPL"}
FINNHUB_EARNINGS = {"earningsCalendar": [
    {"date": "2024-08-01", "epsActual": None, "epsEstimate": 1.34, "hour": "amc", "quarter": 3,
     "revenueActual": None, "revenueEstimate": 84_000_000_000, "symbol": "AAPL", "year": 2024}]}
FINNHUB_ECONOMIC = {"economicCalendar": [
    {"actual": 206, "country": "US", "estimate": 190, "event": "Nonfarm Payrolls", "impact": "high",
     "prev": 218, "time": "2024-07-05 12:30:00", "unit": "K"}]}


def finnhub_server() -> FixtureServer:
    srv = FixtureServer("finnhub")
    srv.empty_body = Response.json({})
    srv.auth_body = Response.json({"error": "Invalid API key."}, 401)
    srv.route("/news-sentiment", lambda p, q: Response.json(FINNHUB_SENTIMENT))
    srv.route("/calendar/earnings", lambda p, q: Response.json(FINNHUB_EARNINGS))
    srv.route("/calendar/economic", lambda p, q: Response.json(FINNHUB_ECONOMIC))
    return srv


@pytest.fixture
async def polygon_srv() -> AsyncIterator[FixtureServer]:
    srv = await polygon_server().start()
    yield srv
    await srv.stop()


@pytest.fixture
async def yahoo_srv() -> AsyncIterator[FixtureServer]:
    srv = await yahoo_server().start()
    yield srv
    await srv.stop()


@pytest.fixture
async def tradier_srv() -> AsyncIterator[FixtureServer]:
    srv = await tradier_server().start()
    yield srv
    await srv.stop()


@pytest.fixture
async def finnhub_srv() -> AsyncIterator[FixtureServer]:
    srv = await finnhub_server().start()
    yield srv
    await srv.stop()


@pytest.fixture(scope="module")
def library() -> BarLibrary:
    return BarLibrary(bundled_data_dir())


@pytest.fixture
def replay(library: BarLibrary) -> ReplayFeed:
    clock = ReplayClock(0, speed=1.0)
    feed = ReplayFeed(library, clock, today=TODAY)
    clock.jump(feed.start_time_ns("SPY"))
    clock.pause()
    return feed
