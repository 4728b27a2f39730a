"""Keeps one chart widget showing (symbol, interval) from the kernel: loads history, follows live
bar events, recomputes the indicator lines off the GUI thread.

Runs on the GUI thread; every kernel call goes through `kernel.runtime.wrap` (the kernel's own loop
thread) and every event arrives through the Qt bridge's queued signals."""

from __future__ import annotations

import asyncio
import logging

from core.chartdata import chart_lines, session_starts
from core.errors import DataError
from core.events import BarClosed, BarUpdated, SeriesReset
from core.market.bars import Bars
from core.market.intervals import Interval, parse_interval
from core.services.market import StreamHandle
from core.tasks import spawn
from core.workstation import Workstation
from widgets.chart import ChartWidget, LineSpec

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
        self.reloads = 0
        self._loading: asyncio.Task[None] | None = None
        self._stream: StreamHandle | None = None
        self._generation = 0  # bumps on every show(): late answers of an older show() are dropped

    @property
    def bars(self) -> Bars:
        return self._bars

    @property
    def stream(self) -> StreamHandle | None:
        return self._stream

    async def show(self, symbol: str, interval: Interval | str) -> None:
        iv = parse_interval(interval)
        self._generation += 1
        gen = self._generation
        self._release_stream()
        self.symbol, self.interval = symbol.upper(), iv
        await self._reload()
        if gen != self._generation:
            return  # the user switched again while this one loaded
        handle = await self._k.runtime.wrap(self._k.market.subscribe(self.symbol, iv))
        if gen != self._generation:
            await self._k.runtime.wrap(_release(handle))  # a quicker switch won: never leak this stream
            return
        self._stream = handle

    def _release_stream(self) -> None:
        handle, self._stream = self._stream, None
        if handle is not None:
            self._k.runtime.submit(_release(handle))

    async def _reload(self) -> None:
        assert self.symbol is not None and self.interval is not None
        sym, iv = self.symbol, self.interval
        bars = await self._k.runtime.wrap(self._k.market.bars(sym, iv, limit=HISTORY_LIMIT))
        if (sym, iv) != (self.symbol, self.interval):
            return  # the user switched while we were loading
        self.reloads += 1
        self._bars = bars
        self._chart.set_title(f"{sym} · {iv.name}")
        self._chart.set_bars(bars, iv, symbol=sym)
        await self._refresh_lines()

    def _matches(self, symbol: str, interval: Interval) -> bool:
        return symbol == self.symbol and interval == self.interval

    def on_bar(self, event: BarUpdated | BarClosed) -> None:
        if not self._matches(event.symbol, event.interval):
            return
        try:
            self._bars = self._bars.upsert(event.bar)
        except DataError:
            log.warning("out-of-order bar for %s %s; reloading", event.symbol, event.interval)
            self._schedule_reload()
            return
        self.live_updates += 1
        self._chart.update_bar(event.bar)
        self._lines_dirty = True
        if self._lines_task is None or self._lines_task.done():
            self._lines_task = spawn(self._refresh_lines(), name="chart-lines")

    def on_reset(self, event: SeriesReset) -> None:
        if self._matches(event.symbol, event.interval):
            self._schedule_reload()

    def _schedule_reload(self) -> None:
        if self._loading is not None and not self._loading.done():
            self._loading.cancel()
        self._loading = spawn(self._reload(), name="chart-reload")

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
            if (sym, iv) == (self.symbol, self.interval) and (self._bars is bars or len(self._bars) == len(bars)):
                # One call replaces the whole set: a line the new symbol lacks (SPX has no VWAP)
                # never lingers from the previous one.
                self._chart.set_lines({
                    name: LineSpec(values, *LINE_STYLE.get(name, ("#cccccc", 1.0, "solid")),
                                   breaks=starts if name.startswith("VWAP") else None)
                    for name, values in lines.items()})
            if not self._lines_dirty:
                return
            await asyncio.sleep(0.2)  # at most ~5 recomputations per second

    def close(self) -> None:
        self._generation += 1
        self._release_stream()


async def _release(handle: StreamHandle) -> None:
    handle.release()
