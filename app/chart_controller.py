"""Keeps one chart widget showing (symbol, interval) from the kernel: loads history, follows
live bar events, recomputes the indicator lines off the GUI thread."""

from __future__ import annotations

import asyncio
import logging

from core.chartdata import chart_lines, session_starts
from core.events import BarClosed, BarUpdated, SeriesReset
from core.market.bars import Bars
from core.market.intervals import Interval, parse_interval
from core.workstation import Workstation
from widgets.chart import ChartWidget

log = logging.getLogger(__name__)

HISTORY_LIMIT = 5000
LINE_STYLE = {
    "EMA 9": ("#f5c542", 1.2, "solid"),
    "EMA 20": ("#42a5f5", 1.2, "solid"),
    "EMA 50": ("#ab47bc", 1.4, "solid"),
    "VWAP": ("#ff7043", 1.6, "solid"),
    "VWAP +1σ": ("#ff7043", 0.8, "dash"),
    "VWAP −1σ": ("#ff7043", 0.8, "dash"),
}


class ChartController:
    def __init__(self, kernel: Workstation, chart: ChartWidget) -> None:
        self._k = kernel
        self._chart = chart
        self.symbol: str | None = None
        self.interval: Interval | None = None
        self._bars = Bars.empty()
        self._lines_task: asyncio.Task[None] | None = None
        self._lines_dirty = False
        self.live_updates = 0
        self._loading: asyncio.Task[None] | None = None

    @property
    def bars(self) -> Bars:
        return self._bars

    async def show(self, symbol: str, interval: Interval | str) -> None:
        iv = parse_interval(interval)
        if self.symbol is not None and self.interval is not None:
            self._k.unsubscribe(self.symbol, self.interval)
        self.symbol, self.interval = symbol.upper(), iv
        self._k.set_primary_symbol(self.symbol)
        await self._reload()
        self._k.subscribe(self.symbol, iv)

    async def _reload(self) -> None:
        assert self.symbol is not None and self.interval is not None
        sym, iv = self.symbol, self.interval
        bars = await self._k.bars(sym, iv, limit=HISTORY_LIMIT)
        if (sym, iv) != (self.symbol, self.interval):
            return  # the user switched while we were loading
        self._bars = bars
        self._chart.set_title(f"{sym} · {iv.name}")
        self._chart.set_bars(bars, iv)
        await self._refresh_lines()

    def _matches(self, symbol: str, interval: Interval) -> bool:
        return symbol == self.symbol and interval == self.interval

    def on_bar(self, event: BarUpdated | BarClosed) -> None:
        if not self._matches(event.symbol, event.interval):
            return
        try:
            self._bars = self._bars.upsert(event.bar)
        except ValueError:
            log.warning("out-of-order bar for %s %s; reloading", event.symbol, event.interval)
            self._schedule(self._reload())
            return
        self.live_updates += 1
        self._chart.update_bar(event.bar)
        self._lines_dirty = True
        if self._lines_task is None or self._lines_task.done():
            self._lines_task = asyncio.get_running_loop().create_task(self._refresh_lines())

    def on_reset(self, event: SeriesReset) -> None:
        if self._matches(event.symbol, event.interval):
            self._schedule(self._reload())

    def _schedule(self, coro) -> None:  # type: ignore[no-untyped-def]
        if self._loading is not None and not self._loading.done():
            self._loading.cancel()
        self._loading = asyncio.get_running_loop().create_task(coro)

    async def _refresh_lines(self) -> None:
        """Recompute lines in a worker thread; coalesces bursts of updates into one pass."""
        loop = asyncio.get_running_loop()
        while True:
            self._lines_dirty = False
            bars, sym, iv = self._bars, self.symbol, self.interval
            if sym is None or iv is None:
                return
            lines = await loop.run_in_executor(None, chart_lines, bars, sym, iv)
            starts = await loop.run_in_executor(None, session_starts, bars, sym)
            if self._bars is bars or len(self._bars) == len(bars):
                for name, values in lines.items():
                    color, width, style = LINE_STYLE.get(name, ("#cccccc", 1.0, "solid"))
                    resets = starts if name.startswith("VWAP") else None
                    self._chart.set_line(name, values, color, width, style, breaks=resets)
            if not self._lines_dirty:
                return
            await asyncio.sleep(0.2)  # at most ~5 recomputations per second
