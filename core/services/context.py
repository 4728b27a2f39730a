"""Context: one symbol's snapshot on one interval (indicators, key levels, overlays) and the
multi-interval view with the volatility regime. core/context.py computes; this service fetches."""

from __future__ import annotations

import logging

from core.context import LOOKBACK_MAX, LOOKBACK_MIN, context, multi_context
from core.errors import FeedError, InputError
from core.market.intervals import Interval, parse_interval
from core.runtime import KernelRuntime
from core.services.market import MarketService
from core.services.options import OptionsService
from core.store.engine import Store

log = logging.getLogger(__name__)

JSONDict = dict[str, object]
WARMUP_BARS = 250  # the slowest indicator (EMA 50, ADX) settles well within this


class ContextService:
    def __init__(self, market: MarketService, options: OptionsService, store: Store | None,
                 runtime: KernelRuntime) -> None:
        self._market, self._options, self._store, self._rt = market, options, store, runtime

    async def context(self, symbol: str, interval: Interval | str = "5m", lookback: int = 300,
                      include_series: bool = True) -> JSONDict:
        iv = parse_interval(interval)
        _check_lookback(lookback)
        bars = await self._market.bars(symbol, iv, limit=lookback + WARMUP_BARS)
        if len(bars) < 2:
            raise InputError("symbol", f"no {iv.name} bars for {symbol.upper()}")
        return await self._rt.run_cpu(context, symbol.upper(), bars, iv, lookback=lookback,
                                      include_series=include_series)

    async def multi_context(self, symbol: str, intervals: list[str] | None = None, lookback: int = 300,
                            include_series: bool = False) -> JSONDict:
        _check_lookback(lookback)
        wanted = intervals or ["5m", "15m", "1h"]
        unique: dict[str, Interval] = {}
        for name in wanted:
            iv = parse_interval(name, "intervals")
            unique.setdefault(iv.name, iv)  # duplicates (and aliases of one interval) are ignored
        bars_by = {iv: await self._market.bars(symbol, iv, limit=lookback + WARMUP_BARS) for iv in unique.values()}
        daily = await self._market.bars(symbol, "1D", limit=400)
        chain = None
        try:
            chain = await self._options.chain(symbol)
        except (FeedError, InputError) as exc:
            log.info("multi-context %s: no option chain (%s); IV fields stay empty", symbol, exc)
        iv_hist = await self._iv_history(symbol)
        return await self._rt.run_cpu(
            multi_context, symbol.upper(), bars_by, lookback=lookback, daily_bars=daily if len(daily) else None,
            chain=chain, iv_history=iv_hist, include_series=include_series)

    async def _iv_history(self, symbol: str) -> list[float] | None:
        if self._store is None:
            return None
        from core.store.iv_history import IVHistoryRepo

        repo = IVHistoryRepo(self._store)
        points = await self._rt.run_io(lambda: repo.series(symbol.upper()))
        return [p.atm_iv for p in points] or None


def _check_lookback(lookback: int) -> None:
    if not isinstance(lookback, int) or not LOOKBACK_MIN <= lookback <= LOOKBACK_MAX:
        raise InputError("lookback", f"must be an integer in {LOOKBACK_MIN}..{LOOKBACK_MAX}")
