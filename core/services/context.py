"""Context: one symbol's snapshot on one interval (indicators, key levels, overlays) and the
multi-interval view with the volatility regime. core/context.py computes; this service fetches."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict

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
MEMO_ENTRIES = 64         # symbol × interval × lookback × series answers kept
CONTEXT_MAX_AGE_S = 1.0   # how old a shared context answer may be (from the start of its computation)


class ContextService:
    def __init__(self, market: MarketService, options: OptionsService, store: Store | None,
                 runtime: KernelRuntime) -> None:
        self._market, self._options, self._store, self._rt = market, options, store, runtime
        self._memo: OrderedDict[tuple[str, str, int, bool], tuple[float, JSONDict]] = OrderedDict()
        self._inflight: dict[tuple[str, str, int, bool], asyncio.Future[JSONDict]] = {}

    async def context(self, symbol: str, interval: Interval | str = "5m", lookback: int = 300,
                      include_series: bool = True) -> JSONDict:
        """The context at the latest bar, shared between callers for up to CONTEXT_MAX_AGE_S: a GPT
        polling at 50 requests/s costs about one computation a second, and callers arriving while one
        runs wait for it instead of starting their own. (The replay and live feeds move the latest
        bar's price continuously, so an exact bar-state key would never hit.) The returned dict is
        shared — read it, never mutate it."""
        iv = parse_interval(interval)
        _check_lookback(lookback)
        key = (symbol.upper(), iv.name, lookback, include_series)
        hit = self._memo.get(key)
        if hit is not None and time.monotonic() - hit[0] <= CONTEXT_MAX_AGE_S:
            return hit[1]
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.ensure_future(self._compute(key, iv))
            self._inflight[key] = task
            task.add_done_callback(lambda t, k=key: self._settled(k, t))
        return await asyncio.shield(task)

    def _settled(self, key: tuple[str, str, int, bool], task: asyncio.Future[JSONDict]) -> None:
        self._inflight.pop(key, None)
        if not task.cancelled() and task.exception() is not None:
            log.debug("context %s failed: %s", key, task.exception())  # raised to every waiter

    async def _compute(self, key: tuple[str, str, int, bool], iv: Interval) -> JSONDict:
        symbol, _name, lookback, include_series = key
        started = time.monotonic()
        bars = await self._market.bars(symbol, iv, limit=lookback + WARMUP_BARS)
        if len(bars) < 2:
            raise InputError("symbol", f"no {iv.name} bars for {symbol}")
        data = await self._rt.run_cpu(context, symbol, bars, iv, lookback=lookback, include_series=include_series)
        self._memo[key] = (started, data)
        self._memo.move_to_end(key)
        while len(self._memo) > MEMO_ENTRIES:
            self._memo.popitem(last=False)
        return data

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
