"""Polygon.io REST: aggregates (next_url pagination, 50,000-row pages), previous close, snapshots
(stocks, indices, options chain with greeks/IV/quotes) and market status, plus PolygonFeed, the
Feed the manager uses for bars (REST) and live bars (WebSocket, see polygon_ws)."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import numpy as np

from core.errors import DataError
from core.events import FeedState, FeedStatus
from core.feeds.base import BarUpdate, Feed
from core.feeds.http import (
    EMPTY,
    MALFORMED,
    UNSUPPORTED,
    HttpConfig,
    MarketStatus,
    ProviderError,
    Quote,
    VendorHttp,
    require,
)
from core.feeds.ratelimit import RateLimiter
from core.feeds.symbols import AssetClass, asset_class, polygon_ticker
from core.market.bars import Bars
from core.market.calendar import calendar_for
from core.market.intervals import D1, H1, H4, M1, M5, M15, M30, Interval
from core.market.resample import BarAggregator, resample
from core.options.chain import OptionChain, concat_chains, parse_polygon_snapshot

log = logging.getLogger(__name__)
NY = ZoneInfo("America/New_York")
NAME = "polygon"
DEFAULT_BASE_URL = "https://api.polygon.io"
MAX_LIMIT = 50_000
MAX_PAGES = 200          # 10 M rows: a runaway next_url loop stops here
FREE_TIER_CALLS_PER_MIN = 5
MS = 1_000_000

# Vendor resolution per interval; 1h/4h are built from 30m bars so they start at the 09:30 open
# like every other bar in the workstation (Polygon's hours start on the clock hour).
_RESOLUTION: dict[str, tuple[int, str, Interval | None]] = {
    M1.name: (1, "minute", None), M5.name: (5, "minute", None), M15.name: (15, "minute", None),
    M30.name: (30, "minute", None), H1.name: (30, "minute", H1), H4.name: (30, "minute", H4),
    D1.name: (1, "day", None),
}
_DEFAULT_LOOKBACK_DAYS = {M1.name: 5, M5.name: 20, M15.name: 60, M30.name: 60, H1.name: 180,
                          H4.name: 365, D1.name: 730}


def vendor_history(provider: str, bars: Bars, symbol: str, interval: Interval, target: Interval | None, *,
                   start_ns: int | None, end_ns: int | None, limit: int | None) -> Bars:
    """A vendor's raw bars as the app's `interval`: daily bars at their session opens, coarser
    intervals resampled on the exchange calendar, cut to the range; an empty answer is an error."""
    if interval == D1 and len(bars):
        bars = Bars.from_arrays(to_session_opens(bars.ts, symbol), bars.open, bars.high, bars.low,
                                bars.close, bars.volume)
    if target is not None:
        bars = resample(bars, target, calendar_for(symbol))
    bars = bars.between(start_ns, end_ns)
    if not len(bars):
        raise ProviderError(provider, EMPTY, f"no {interval} bars for {symbol} in the requested range")
    return bars.tail(limit) if limit else bars


def default_start_ns(interval: Interval, end_ns: int) -> int:
    return end_ns - _DEFAULT_LOOKBACK_DAYS.get(interval.name, 30) * 86_400 * 10**9


def to_session_opens(ts_ns: np.ndarray, symbol: str) -> np.ndarray:
    """Daily bars stamped at midnight (Polygon) or any time of day -> the session open of that
    New York date, the stamp the replay feed and the resampler use for 1D bars."""
    cal = calendar_for(symbol)
    out = ts_ns.copy()
    for i, t in enumerate(ts_ns):
        d = datetime.fromtimestamp(int(t) / 1e9, tz=UTC).astimezone(NY).date()
        if cal.is_session(d):
            out[i] = cal.opens_ns[cal.index_of(d)]
    return out


def bars_from_rows(rows: list[Mapping[str, Any]], provider: str = NAME, *, t_key: str = "t",
                   t_unit_ns: int = MS, keys: tuple[str, ...] = ("o", "h", "l", "c", "v")) -> Bars:
    """Polygon aggregate rows -> Bars (sorted, duplicate stamps from overlapping pages dropped)."""
    if not rows:
        return Bars.empty()
    try:
        ts = np.array([int(r[t_key]) for r in rows], dtype=np.int64) * t_unit_ns
        cols = [np.array([float(r.get(k) or 0.0) if k == keys[4] else float(r[k]) for r in rows])
                for k in keys]
    except (KeyError, TypeError, ValueError) as exc:
        raise ProviderError(provider, MALFORMED, f"aggregate row without {exc}") from exc
    order = np.argsort(ts, kind="stable")
    ts = ts[order]
    keep = np.ones(len(ts), dtype=bool)
    keep[1:] = np.diff(ts) != 0
    sel = order[keep]
    try:
        return Bars.from_arrays(ts[keep], *(c[sel] for c in cols))
    except DataError as exc:
        raise ProviderError(provider, MALFORMED, str(exc)) from exc


class PolygonRest:
    """Thin typed access to the Polygon REST endpoints the workstation uses."""

    def __init__(self, api_key: str, base_url: str = DEFAULT_BASE_URL, *, config: HttpConfig | None = None,
                 limiter: RateLimiter | None = None, today: Callable[[], date] | None = None,
                 now: Callable[[], datetime] | None = None) -> None:
        self.http = VendorHttp(NAME, base_url, config=config, limiter=limiter,
                               headers={"Authorization": f"Bearer {api_key}"})
        self._now = now or (lambda: datetime.now(UTC))  # snapshot time (injectable for recorded data)
        self._today = today or (lambda: self._now().astimezone(NY).date())

    @property
    def health(self):  # type: ignore[no-untyped-def]
        return self.http.health

    async def aclose(self) -> None:
        await self.http.aclose()

    def ticker(self, symbol: str) -> str:
        return polygon_ticker(symbol, self._today())

    def _relative(self, next_url: str) -> str:
        """next_url points at the vendor host; keep path+query so a configured base URL (proxy,
        test server) is honoured."""
        parts = urlsplit(next_url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    async def _paged(self, path: str, params: dict[str, Any], *, max_wait_s: float | str | None = "default"
                     ) -> list[Mapping[str, Any]]:
        rows: list[Mapping[str, Any]] = []
        data = await self.http.get_json(path, params, max_wait_s=max_wait_s)
        for _page in range(MAX_PAGES):
            require(isinstance(data, Mapping), NAME, MALFORMED, "expected a JSON object")
            status = str(data.get("status", "OK")).upper()
            require(status in ("OK", "DELAYED"), NAME, MALFORMED if status != "ERROR" else EMPTY,
                    f"status {status}: {data.get('error') or data.get('message') or ''}".strip())
            res = data.get("results") or []
            if isinstance(res, Mapping):
                res = [res]
            require(isinstance(res, list), NAME, MALFORMED, "results is not a list")
            rows.extend(res)
            nxt = data.get("next_url")
            if not nxt:
                return rows
            data = await self.http.get_json(self._relative(str(nxt)), None, max_wait_s=max_wait_s)
        log.warning("polygon: stopped after %d pages of %s", MAX_PAGES, path)
        return rows

    async def aggregates(self, symbol: str, multiplier: int, timespan: str, start_ns: int, end_ns: int,
                         *, adjusted: bool = True, max_wait_s: float | str | None = "default") -> Bars:
        """Bars in [start_ns, end_ns], all pages. Futures use the futures aggregates endpoint."""
        tk = self.ticker(symbol)
        if asset_class(symbol) is AssetClass.FUTURE:
            return await self._futures_aggregates(tk, multiplier, timespan, start_ns, end_ns, max_wait_s)
        path = f"/v2/aggs/ticker/{tk}/range/{multiplier}/{timespan}/{start_ns // MS}/{end_ns // MS}"
        rows = await self._paged(path, {"adjusted": str(adjusted).lower(), "sort": "asc", "limit": MAX_LIMIT},
                                 max_wait_s=max_wait_s)
        return bars_from_rows(rows)

    async def _futures_aggregates(self, ticker: str, multiplier: int, timespan: str, start_ns: int,
                                  end_ns: int, max_wait_s: float | str | None) -> Bars:
        unit = {"minute": "min", "hour": "hour", "day": "session"}[timespan]
        rows = await self._paged(f"/futures/v1/aggs/{ticker}", {
            "resolution": f"{multiplier}{unit}", "window_start.gte": start_ns, "window_start.lte": end_ns,
            "limit": MAX_LIMIT, "sort": "window_start.asc"}, max_wait_s=max_wait_s)
        return bars_from_rows(rows, t_key="window_start", t_unit_ns=1,
                              keys=("open", "high", "low", "close", "volume"))

    async def prev_close(self, symbol: str) -> Quote:
        data = await self.http.get_json(f"/v2/aggs/ticker/{self.ticker(symbol)}/prev", {"adjusted": "true"})
        res = data.get("results") if isinstance(data, Mapping) else None
        require(bool(res), NAME, EMPTY, f"no previous close for {symbol}")
        assert isinstance(res, list)
        r = res[0]
        try:
            return Quote(symbol.upper(), float(r["c"]), int(r["t"]) * MS, NAME, prev_close=float(r["c"]),
                         volume=float(r.get("v") or 0))
        except (KeyError, TypeError, ValueError) as exc:
            raise ProviderError(NAME, MALFORMED, f"prev close without {exc}") from exc

    async def stock_snapshot(self, symbol: str) -> Quote:
        tk = self.ticker(symbol)
        data = await self.http.get_json(f"/v2/snapshot/locale/us/markets/stocks/tickers/{tk}")
        t = data.get("ticker") if isinstance(data, Mapping) else None
        require(isinstance(t, Mapping), NAME, EMPTY, f"no snapshot for {symbol}")
        assert isinstance(t, Mapping)
        trade = t.get("lastTrade") or {}
        quote = t.get("lastQuote") or {}
        day = t.get("day") or {}
        price = trade.get("p") or day.get("c") or (t.get("min") or {}).get("c")
        require(price is not None and float(price) > 0, NAME, EMPTY, f"snapshot of {symbol} has no price")
        return Quote(symbol.upper(), float(price), int(trade.get("t") or t.get("updated") or 0), NAME,
                     bid=_pos(quote.get("p")), ask=_pos(quote.get("P")),
                     prev_close=_pos((t.get("prevDay") or {}).get("c")), volume=_pos(day.get("v")))

    async def index_snapshot(self, symbols: list[str]) -> dict[str, Quote]:
        """Index values (I:SPX, I:NDX...). Tickers the plan does not cover come back as errors
        in the payload and are left out."""
        tks = [self.ticker(s).removeprefix("I:") for s in symbols]
        data = await self.http.get_json("/v3/snapshot/indices", {"ticker.any_of": ",".join(f"I:{t}" for t in tks)})
        rows = data.get("results") if isinstance(data, Mapping) else None
        require(isinstance(rows, list), NAME, MALFORMED, "indices snapshot without results")
        assert isinstance(rows, list)
        out: dict[str, Quote] = {}
        for r in rows:
            tk = str(r.get("ticker", "")).removeprefix("I:")
            if r.get("error") or r.get("value") is None:
                log.info("polygon: index %s unavailable: %s", tk, r.get("message") or r.get("error"))
                continue
            sess = r.get("session") or {}
            out[tk] = Quote(tk, float(r["value"]), int(r.get("last_updated") or 0), NAME,
                            prev_close=_pos(sess.get("previous_close")))
        require(bool(out), NAME, EMPTY, f"no index values for {', '.join(tks)}")
        return out

    async def quote(self, symbol: str) -> Quote:
        if asset_class(symbol) is AssetClass.INDEX:
            q = await self.index_snapshot([symbol])
            return next(iter(q.values()))
        if asset_class(symbol) is AssetClass.FUTURE:
            raise ProviderError(NAME, UNSUPPORTED, "futures quotes come from the live stream")
        return await self.stock_snapshot(symbol)

    async def options_chain(self, underlying: str, *, expiration_lte: date | None = None,
                            max_wait_s: float | str | None = "default") -> OptionChain:
        """The whole chain snapshot (all pages), parsed by core.options.chain."""
        tk = self.ticker(underlying)
        params: dict[str, Any] = {"limit": 250}
        if expiration_lte is not None:
            params["expiration_date.lte"] = expiration_lte.isoformat()
        data = await self.http.get_json(f"/v3/snapshot/options/{tk}", params, max_wait_s=max_wait_s)
        as_of = self._now()
        chains: list[OptionChain] = []
        for _page in range(MAX_PAGES):
            require(isinstance(data, Mapping), NAME, MALFORMED, "expected a JSON object")
            if data.get("results"):
                try:
                    chains.append(parse_polygon_snapshot(data, as_of))
                except (DataError, KeyError, TypeError, ValueError) as exc:
                    raise ProviderError(NAME, MALFORMED, f"options snapshot: {exc}") from exc
            nxt = data.get("next_url")
            if not nxt:
                break
            data = await self.http.get_json(self._relative(str(nxt)), None, max_wait_s=max_wait_s)
        require(bool(chains), NAME, EMPTY, f"no option contracts for {underlying}")
        return concat_chains(chains)

    async def market_status(self) -> MarketStatus:
        d = await self.http.get_json("/v1/marketstatus/now")
        require(isinstance(d, Mapping) and "market" in d, NAME, MALFORMED, "market status without 'market'")
        return MarketStatus(str(d["market"]), bool(d.get("earlyHours")), bool(d.get("afterHours")),
                            str(d.get("serverTime", "")), dict(d.get("exchanges") or {}), NAME)


def _pos(v: Any) -> float | None:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if x > 0 else None


class PolygonFeed(Feed):
    """Bars from Polygon REST; live bars from the Polygon WebSocket when one is attached."""

    name = NAME

    def __init__(self, rest: PolygonRest, stream: Any | None = None, *,
                 now_ns: Callable[[], int] | None = None) -> None:
        self.rest = rest
        self.ws = stream  # core.feeds.polygon_ws.PolygonStream (typed loosely: optional import)
        self._now_ns = now_ns or time.time_ns
        self._symbols: set[str] = set()

    async def stop(self) -> None:
        if self.ws is not None:
            await self.ws.stop()
        await self.rest.aclose()

    @property
    def health(self):  # type: ignore[no-untyped-def]
        return self.rest.health

    def symbols(self) -> list[str]:
        return sorted(self._symbols)

    async def history(self, symbol: str, interval: Interval, *, start_ns: int | None = None,
                      end_ns: int | None = None, limit: int | None = None) -> Bars:
        mult, span, target = _RESOLUTION[interval.name]
        end = end_ns if end_ns is not None else self._now_ns()
        start = start_ns if start_ns is not None else default_start_ns(interval, end)
        bars = await self.rest.aggregates(symbol, mult, span, start, end)
        out = vendor_history(NAME, bars, symbol, interval, target, start_ns=start_ns, end_ns=end_ns, limit=limit)
        self._symbols.add(symbol.upper())
        return out

    async def stream(self, symbol: str, interval: Interval) -> AsyncIterator[BarUpdate]:  # type: ignore[override]
        if self.ws is None:
            raise ProviderError(NAME, UNSUPPORTED, "live bars need the Polygon WebSocket (disabled)")
        symbol = symbol.upper()
        agg = None if interval == M1 else BarAggregator(interval, calendar_for(symbol), M1)
        async for bar in self.ws.stream(self.rest.ticker(symbol)):
            if agg is None:
                yield BarUpdate(symbol, M1, bar, True, bar.close)
            else:
                for out, closed in agg.update(bar, True):
                    yield BarUpdate(symbol, interval, out, closed, bar.close)

    def status(self) -> FeedStatus:
        h = self.rest.health
        if self.ws is not None:
            ws_status: FeedStatus = self.ws.status()
            if ws_status.state is not FeedState.STOPPED:
                return ws_status
        if h.error is not None:
            return FeedStatus(NAME, FeedState.DEGRADED, h.error.summary, data_age_s=h.age_s)
        if h.ok_at is None:
            return FeedStatus(NAME, FeedState.CONNECTING, "Polygon REST: no request yet")
        return FeedStatus(NAME, FeedState.LIVE, "Polygon REST", data_age_s=h.age_s)
