"""Tradier market data: quotes, option expirations and chains with greeks (`greeks=true`).

Sandbox (delayed, free with an account) and production base URLs; the token goes in a Bearer
header. A rejected token (HTTP 401 "Invalid Access Token") is a clear ERROR state that says so,
and the manager moves on to the next chain source.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from core.errors import DataError
from core.events import FeedState, FeedStatus
from core.feeds.http import AUTH, EMPTY, MALFORMED, UNSUPPORTED, HttpConfig, ProviderError, Quote, VendorHttp, require
from core.feeds.ratelimit import RateLimiter
from core.feeds.symbols import tradier_symbol
from core.options.chain import OptionChain, concat_chains, parse_tradier_chain

log = logging.getLogger(__name__)
NY = ZoneInfo("America/New_York")
NAME = "tradier"
SANDBOX_URL = "https://sandbox.tradier.com"
PRODUCTION_URL = "https://api.tradier.com"
CALLS_PER_MIN = 120  # Tradier market-data limit per token


class TradierClient:
    def __init__(self, token: str, base_url: str = SANDBOX_URL, *, config: HttpConfig | None = None,
                 limiter: RateLimiter | None = None, today: Callable[[], date] | None = None,
                 now: Callable[[], datetime] | None = None, max_dte: int = 60, max_expiries: int = 8) -> None:
        self.max_dte = max_dte
        self.max_expiries = max_expiries
        self.sandbox = "sandbox" in base_url
        self.http = VendorHttp(NAME, base_url, config=config,
                               limiter=limiter or RateLimiter(NAME, CALLS_PER_MIN, 60.0),
                               headers={"Authorization": f"Bearer {token}"})
        self._now = now or (lambda: datetime.now(UTC))  # snapshot time (injectable for recorded data)
        self._today = today or (lambda: self._now().astimezone(NY).date())

    @property
    def health(self):  # type: ignore[no-untyped-def]
        return self.http.health

    async def aclose(self) -> None:
        await self.http.aclose()

    def _sym(self, symbol: str) -> str:
        s = tradier_symbol(symbol)
        if s is None:
            raise ProviderError(NAME, UNSUPPORTED, f"Tradier has no futures ({symbol})")
        return s

    async def quotes(self, symbols: list[str], *, greeks: bool = True) -> dict[str, Quote]:
        data = await self.http.get_json("/v1/markets/quotes", {
            "symbols": ",".join(self._sym(s) for s in symbols), "greeks": str(greeks).lower()})
        body = data.get("quotes") if isinstance(data, Mapping) else None
        require(isinstance(body, Mapping), NAME, EMPTY if body in (None, "null") else MALFORMED,
                "no quotes in the answer")
        assert isinstance(body, Mapping)
        items = body.get("quote") or []
        if isinstance(items, Mapping):  # one symbol: an object, not a list
            items = [items]
        out: dict[str, Quote] = {}
        for q in items:
            price = q.get("last") or q.get("close") or q.get("prevclose")
            if price is None:
                continue
            ts_ms = int(q.get("trade_date") or 0)
            out[str(q["symbol"])] = Quote(str(q["symbol"]), float(price), ts_ms * 1_000_000, NAME,
                                          bid=q.get("bid") or None, ask=q.get("ask") or None,
                                          prev_close=q.get("prevclose"), volume=q.get("volume"))
        require(bool(out), NAME, EMPTY, f"no priced quote for {', '.join(symbols)}")
        return out

    async def quote(self, symbol: str) -> Quote:
        q = await self.quotes([symbol], greeks=False)
        return q.get(self._sym(symbol)) or next(iter(q.values()))

    async def expirations(self, symbol: str) -> list[date]:
        data = await self.http.get_json("/v1/markets/options/expirations",
                                        {"symbol": self._sym(symbol), "includeAllRoots": "true"})
        exp = data.get("expirations") if isinstance(data, Mapping) else None
        require(isinstance(exp, Mapping), NAME, EMPTY, f"no option expirations for {symbol}")
        assert isinstance(exp, Mapping)
        dates = exp.get("date") or []
        if isinstance(dates, str):
            dates = [dates]
        try:
            return sorted(date.fromisoformat(d) for d in dates)
        except (TypeError, ValueError) as exc:
            raise ProviderError(NAME, MALFORMED, f"expiration dates: {exc}") from exc

    async def chain_for_expiry(self, symbol: str, expiry: date, underlying_price: float) -> OptionChain:
        data = await self.http.get_json("/v1/markets/options/chains", {
            "symbol": self._sym(symbol), "expiration": expiry.isoformat(), "greeks": "true"})
        require(isinstance(data, Mapping) and "options" in data, NAME, MALFORMED, "chain without 'options'")
        try:
            return parse_tradier_chain(data, underlying_price, self._now())
        except (DataError, KeyError, TypeError, ValueError) as exc:
            raise ProviderError(NAME, MALFORMED, f"chain {expiry}: {exc}") from exc

    async def chain(self, symbol: str, *, max_dte: int | None = None, max_expiries: int | None = None
                    ) -> OptionChain:
        """Chains of the expiries up to max_dte (at least the nearest one), joined."""
        max_dte = self.max_dte if max_dte is None else max_dte
        max_expiries = self.max_expiries if max_expiries is None else max_expiries
        spot = (await self.quote(symbol)).price
        today = self._today()
        exps = [e for e in await self.expirations(symbol) if e >= today]
        require(bool(exps), NAME, EMPTY, f"no future expirations for {symbol}")
        near = [e for e in exps if (e - today).days <= max_dte][:max_expiries] or exps[:1]
        chains = [c for e in near if len(c := await self.chain_for_expiry(symbol, e, spot))]
        require(bool(chains), NAME, EMPTY, f"empty chains for {symbol}")
        return concat_chains(chains)

    def status(self) -> FeedStatus:
        h = self.health
        env = "sandbox" if self.sandbox else "production"
        if h.error is not None and h.error.reason == AUTH:
            return FeedStatus(NAME, FeedState.ERROR,
                              f"Tradier token rejected ({h.error.detail}); check the {env} token in settings",
                              data_age_s=h.age_s)
        if h.error is not None:
            return FeedStatus(NAME, FeedState.DEGRADED, h.error.summary, data_age_s=h.age_s)
        return FeedStatus(NAME, FeedState.LIVE if h.ok_at else FeedState.CONNECTING, f"Tradier {env}",
                          data_age_s=h.age_s)


