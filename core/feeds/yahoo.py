"""Yahoo Finance (v8 chart, v7 options, v7 quote): the free fallback for bars and chains.

The chart endpoint also returns split and dividend events; bars are returned as sent (Yahoo's
OHLC is split-adjusted, not dividend-adjusted) and the events are kept for callers that adjust.
An empty result (a 1-minute request over a weekend) is a clean EMPTY error, not a crash.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from core.errors import DataError
from core.events import FeedState, FeedStatus
from core.feeds.base import BarUpdate, Feed
from core.feeds.http import EMPTY, MALFORMED, UNSUPPORTED, HttpConfig, ProviderError, Quote, VendorHttp, require
from core.feeds.polygon import default_start_ns, vendor_history
from core.feeds.ratelimit import RateLimiter
from core.feeds.symbols import yahoo_ticker
from core.market.bars import Bars
from core.market.intervals import D1, H1, H4, M1, M5, M15, M30, Interval
from core.options.chain import OptionChain, parse_yahoo_options

log = logging.getLogger(__name__)
NY = ZoneInfo("America/New_York")
NAME = "yahoo"
DEFAULT_BASE_URL = "https://query2.finance.yahoo.com"

# Yahoo intraday history limits: 1m ~7 days per request (30 days back), <1d intervals 60 days.
_YAHOO_INTERVAL: dict[str, tuple[str, Interval | None]] = {
    M1.name: ("1m", None), M5.name: ("5m", None), M15.name: ("15m", None), M30.name: ("30m", None),
    H1.name: ("30m", H1), H4.name: ("30m", H4), D1.name: ("1d", None),
}


@dataclass(frozen=True, slots=True)
class Split:
    ts: int           # UTC ns
    numerator: float
    denominator: float


@dataclass(frozen=True, slots=True)
class Dividend:
    ts: int
    amount: float


@dataclass(frozen=True, slots=True)
class Chart:
    symbol: str
    bars: Bars
    splits: tuple[Split, ...]
    dividends: tuple[Dividend, ...]
    adjclose: np.ndarray | None   # dividend+split adjusted closes, daily only


def parse_chart(payload: Mapping[str, Any]) -> Chart:
    """v8 chart JSON -> Chart. Rows with a null price (halts, Yahoo gaps) are dropped."""
    body = payload.get("body", payload) if isinstance(payload, Mapping) else payload
    require(isinstance(body, Mapping) and isinstance(body.get("chart"), Mapping), NAME, MALFORMED,
            "no 'chart' object")
    chart = body["chart"]
    if chart.get("error"):
        err = chart["error"]
        code = str(err.get("code", "")) if isinstance(err, Mapping) else str(err)
        reason = EMPTY if code.lower() in ("not found", "no data found") else MALFORMED
        raise ProviderError(NAME, reason, f"chart error: {err}")
    res = chart.get("result") or []
    require(bool(res), NAME, EMPTY, "chart has no result")
    r = res[0]
    meta = r.get("meta") or {}
    symbol = str(meta.get("symbol", ""))
    stamps = r.get("timestamp") or []
    quotes = ((r.get("indicators") or {}).get("quote") or [{}])[0] or {}
    if not stamps:
        raise ProviderError(NAME, EMPTY, f"no bars for {symbol} in the requested range")
    try:
        ts = np.asarray(stamps, dtype=np.int64) * 1_000_000_000
        cols = [np.array([np.nan if v is None else float(v) for v in quotes.get(k) or [None] * len(ts)])
                for k in ("open", "high", "low", "close", "volume")]
    except (TypeError, ValueError) as exc:
        raise ProviderError(NAME, MALFORMED, f"chart columns: {exc}") from exc
    require(all(len(c) == len(ts) for c in cols), NAME, MALFORMED, "chart columns differ in length")
    ok = np.isfinite(cols[0]) & np.isfinite(cols[1]) & np.isfinite(cols[2]) & np.isfinite(cols[3])
    cols[4] = np.nan_to_num(cols[4])
    adj = None
    adj_list = (r.get("indicators") or {}).get("adjclose")
    if adj_list:
        adj = np.array([np.nan if v is None else float(v) for v in adj_list[0].get("adjclose") or []])[ok]
    try:
        bars = Bars.from_arrays(ts[ok], *(c[ok] for c in cols))
    except DataError as exc:
        raise ProviderError(NAME, MALFORMED, str(exc)) from exc
    ev = r.get("events") or {}
    splits = tuple(sorted(
        (Split(int(s["date"]) * 1_000_000_000, float(s["numerator"]), float(s["denominator"]))
         for s in (ev.get("splits") or {}).values()), key=lambda s: s.ts))
    divs = tuple(sorted((Dividend(int(d["date"]) * 1_000_000_000, float(d["amount"]))
                         for d in (ev.get("dividends") or {}).values()), key=lambda d: d.ts))
    return Chart(symbol, bars, splits, divs, adj)


class YahooClient:
    def __init__(self, base_url: str = DEFAULT_BASE_URL, *, config: HttpConfig | None = None,
                 limiter: RateLimiter | None = None, today: Callable[[], date] | None = None,
                 now: Callable[[], datetime] | None = None) -> None:
        self.http = VendorHttp(NAME, base_url, config=config, limiter=limiter)
        self._now = now or (lambda: datetime.now(UTC))  # snapshot time (injectable for recorded data)
        self._today = today or (lambda: self._now().astimezone(NY).date())

    @property
    def health(self):  # type: ignore[no-untyped-def]
        return self.http.health

    async def aclose(self) -> None:
        await self.http.aclose()

    async def chart(self, symbol: str, interval: str, start_ns: int, end_ns: int, *,
                    prepost: bool = False) -> Chart:
        tk = yahoo_ticker(symbol, self._today())
        data = await self.http.get_json(f"/v8/finance/chart/{tk}", {
            "interval": interval, "period1": start_ns // 1_000_000_000, "period2": end_ns // 1_000_000_000,
            "includePrePost": str(prepost).lower(), "events": "div|split"})
        return parse_chart(data)

    async def options(self, symbol: str, expiry: date | None = None) -> OptionChain:
        tk = yahoo_ticker(symbol, self._today(), options=True)
        params: dict[str, Any] = {}
        if expiry is not None:
            params["date"] = int(datetime(expiry.year, expiry.month, expiry.day, tzinfo=UTC).timestamp())
        data = await self.http.get_json(f"/v7/finance/options/{tk}", params)
        try:
            chain = parse_yahoo_options(data, self._now())
        except (DataError, KeyError, TypeError, ValueError) as exc:
            reason = EMPTY if "no optionChain.result" in str(exc) else MALFORMED
            raise ProviderError(NAME, reason, f"options: {exc}") from exc
        require(len(chain) > 0, NAME, EMPTY, f"no option contracts for {symbol}")
        return chain

    async def quote(self, symbol: str) -> Quote:
        tk = yahoo_ticker(symbol, self._today())
        data = await self.http.get_json("/v7/finance/quote", {"symbols": tk})
        body = data.get("body", data) if isinstance(data, Mapping) else {}
        res = ((body.get("quoteResponse") or {}).get("result") or []) if isinstance(body, Mapping) else []
        require(bool(res), NAME, EMPTY, f"no quote for {symbol}")
        q = res[0]
        price = q.get("regularMarketPrice")
        require(isinstance(price, (int, float)) and price > 0, NAME, EMPTY, f"quote of {symbol} has no price")
        return Quote(symbol.upper(), float(price), int(q.get("regularMarketTime") or 0) * 1_000_000_000, NAME,
                     bid=q.get("bid") or None, ask=q.get("ask") or None,
                     prev_close=q.get("regularMarketPreviousClose"), volume=q.get("regularMarketVolume"))


class YahooFeed(Feed):
    """Bars from Yahoo's chart endpoint. No stream: Yahoo is a fallback, not a live source."""

    name = NAME

    def __init__(self, client: YahooClient, *, now_ns: Callable[[], int] | None = None) -> None:
        self.client = client
        self._now_ns = now_ns or time.time_ns
        self._symbols: set[str] = set()
        self.last_chart: Chart | None = None

    async def stop(self) -> None:
        await self.client.aclose()

    @property
    def health(self):  # type: ignore[no-untyped-def]
        return self.client.health

    def symbols(self) -> list[str]:
        return sorted(self._symbols)

    async def history(self, symbol: str, interval: Interval, *, start_ns: int | None = None,
                      end_ns: int | None = None, limit: int | None = None) -> Bars:
        yi, target = _YAHOO_INTERVAL[interval.name]
        end = end_ns if end_ns is not None else self._now_ns()
        start = start_ns if start_ns is not None else default_start_ns(interval, end)
        chart = await self.client.chart(symbol, yi, start, end)
        self.last_chart = chart
        out = vendor_history(NAME, chart.bars, symbol, interval, target, start_ns=start_ns, end_ns=end_ns,
                             limit=limit)
        self._symbols.add(symbol.upper())
        return out

    async def stream(self, symbol: str, interval: Interval) -> AsyncIterator[BarUpdate]:  # type: ignore[override]
        raise ProviderError(NAME, UNSUPPORTED, "Yahoo has no live stream")
        yield  # pragma: no cover - makes this an async generator

    def status(self) -> FeedStatus:
        h = self.client.health
        if h.error is not None:
            return FeedStatus(NAME, FeedState.DEGRADED, h.error.summary, data_age_s=h.age_s)
        return FeedStatus(NAME, FeedState.LIVE if h.ok_at else FeedState.CONNECTING,
                          "Yahoo Finance (delayed)", data_age_s=h.age_s)
