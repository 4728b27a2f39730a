"""Keeps one chart widget showing (symbol, interval) from the kernel: loads history, follows live
bar events, recomputes the indicator lines and overlays off the GUI thread; shows a plan and turns
line drags into new plan versions; follower markers; drawings and price alerts in the store.

Runs on the GUI thread; every kernel call goes through `kernel.runtime.wrap` (the kernel's own loop
thread) and every event arrives through the Qt bridge's queued signals."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from app.chart_tools import ChartOverlays, lines_and_overlays
from core.errors import DataError, InputError
from core.events import BarClosed, BarUpdated, SeriesReset
from core.market.bars import Bars
from core.market.intervals import Interval, parse_interval
from core.scanner.events import FollowerEvent
from core.scanner.plan import Plan
from core.scanner.setups import Candidate, SetupState
from core.services.drawings import AlertTriggered, DrawingChanged, DrawingsService
from core.services.market import StreamHandle
from core.store.drawings import Drawing, PriceAlert
from core.tasks import spawn
from core.workstation import Workstation
from widgets.chart import AlertView, ChartWidget, DrawingView, LineSpec, MarkerView, PlanView

log = logging.getLogger(__name__)

HISTORY_LIMIT = 5000
LINE_STYLE = {
    "EMA 9": ("#f5c542", 1.2, "solid"),
    "EMA 20": ("#42a5f5", 1.2, "solid"),
    "EMA 50": ("#ab47bc", 1.4, "solid"),
    "VWAP": ("#ff7043", 1.6, "solid"),
    "VWAP +1σ": ("#ff7043", 0.8, "dash"),
    "VWAP −1σ": ("#ff7043", 0.8, "dash"),
    "AVWAP open": ("#26c6da", 1.0, "dashdot"),
    "AVWAP PDH": ("#ef9a9a", 1.0, "dashdot"),
    "AVWAP PDL": ("#a5d6a7", 1.0, "dashdot"),
    "AVWAP PDC": ("#bdbdbd", 1.0, "dashdot"),
}
DEFAULT_SHARES = 100   # position size the exit marker's $ P/L is shown for
LINES_PERIOD_S = 0.4  # lines and overlays follow live bars at most ~2.5 times a second (a repaint each)


def plan_view(plan: Plan) -> PlanView:
    return PlanView(plan.plan_id, plan.version, plan.direction, plan.entry, plan.stop, tuple(plan.targets),
                    title=plan.playbook)


def drawing_view(d: Drawing) -> DrawingView:
    return DrawingView(d.id, d.kind, d.points, d.text or "", d.color)


def alert_view(a: PriceAlert) -> AlertView:
    return AlertView(a.id, a.price, a.label, a.status, a.drawing_id)


def _gui_loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class ChartController:
    def __init__(self, kernel: Workstation, chart: ChartWidget, drawings: DrawingsService | None = None) -> None:
        self._k = kernel
        self._chart = chart
        # kernel.drawings once the kernel composes it; a test may hand its own.
        self._drawings = drawings if drawings is not None else getattr(kernel, "drawings", None)
        self.plan: Plan | None = None
        self.candidate: Candidate | None = None
        self.shares = DEFAULT_SHARES
        self.overlays = ChartOverlays()
        self.on_plan_changed: Callable[[Plan], None] | None = None   # the window's plan panel
        self.on_error: Callable[[str, str], None] | None = None      # (field, reason) for the status bar
        self._markers: list[MarkerView] = []
        self._linked: list[ChartController] = []
        self._plan_task: asyncio.Task[None] | None = None
        chart.plan_level_moved.connect(self._on_level_moved)
        chart.drawing_requested.connect(self._on_drawing_requested)
        chart.drawing_moved.connect(self._on_drawing_moved)
        chart.alert_requested.connect(
            lambda price, label: spawn(self.add_alert(price=price, label=label), name="chart-alert"))
        chart.drawing_alert_requested.connect(
            lambda i: spawn(self.add_alert(drawing_id=i), name="chart-alert"))
        chart.drawing_delete_requested.connect(lambda i: spawn(self.delete_drawing(i), name="chart-drawing-del"))
        chart.alert_delete_requested.connect(lambda i: spawn(self.delete_alert(i), name="chart-alert-del"))
        self.symbol: str | None = None
        self.interval: Interval | None = None
        self._bars = Bars.empty()
        self._lines_task: asyncio.Task[None] | None = None
        self._lines_dirty = False
        self._lines_running = 0  # passes of _refresh_lines under way (one at a time is the aim)
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
        if symbol.upper() != self.symbol:
            self.plan, self.candidate, self._markers = None, None, []
        self.symbol, self.interval = symbol.upper(), iv
        for other in self._linked:   # the linked chart follows the symbol on its own interval
            if other.symbol != self.symbol and other.interval is not None:
                spawn(other.show(self.symbol, other.interval), name="chart-linked-show")
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
        await asyncio.sleep(0)  # let the event loop breathe between the reload's GUI steps
        if (sym, iv) != (self.symbol, self.interval):
            return
        self._redraw_plan()
        await self.load_drawings()
        # One pass here (the caller sees the lines when show() returns); live bars meanwhile
        # leave the lines dirty and the follow-up runs as its own task, never keeping show() waiting.
        await self._refresh_lines(once=True)

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
        self._follow_lines()

    def _follow_lines(self) -> None:
        if not self._lines_running and _gui_loop_running():
            # (Qt can deliver a bar while no loop runs — tests pumping events between awaits; the
            # lines stay dirty and the next bar refreshes them.)
            self._lines_task = spawn(self._refresh_lines(), name="chart-lines")

    def on_reset(self, event: SeriesReset) -> None:
        if self._matches(event.symbol, event.interval):
            self._schedule_reload()

    def _schedule_reload(self) -> None:
        if self._loading is not None and not self._loading.done():
            self._loading.cancel()
        self._loading = spawn(self._reload(), name="chart-reload")

    async def _refresh_lines(self, once: bool = False) -> None:
        """Recompute lines and overlays in the kernel's CPU worker processes (a thread of this
        process would hold the GIL against the GUI thread); coalesces bursts into one pass.
        `once`: one pass, then a follow-up task if bars arrived meanwhile."""
        rt = self._k.runtime
        self._lines_running += 1
        try:
            while True:
                self._lines_dirty = False
                bars, sym, iv = self._bars, self.symbol, self.interval
                if sym is None or iv is None:
                    return
                lines, starts, overlays = await rt.wrap(rt.run_cpu(lines_and_overlays, bars, sym, iv))
                if (sym, iv) == (self.symbol, self.interval) and (self._bars is bars
                                                                  or len(self._bars) == len(bars)):
                    lines = {**lines, **overlays.avwaps}
                    await self._apply_lines({
                        name: LineSpec(values, *LINE_STYLE.get(name, ("#cccccc", 1.0, "solid")),
                                       breaks=starts if name.startswith("VWAP") else None)
                        for name, values in lines.items()}, overlays, sym, iv)
                if once or not self._lines_dirty:
                    return
                await asyncio.sleep(LINES_PERIOD_S)
        finally:
            self._lines_running -= 1
            if once and self._lines_dirty:
                self._follow_lines()

    async def _apply_lines(self, specs: dict[str, LineSpec], o: ChartOverlays, sym: str, iv: Interval) -> None:
        """Replace the chart's lines with `specs` and its overlays with `o`, one line or overlay
        per turn of the event loop: the whole set at once (ten lines of 5,000 points, new plot
        items after a switch) was the GUI thread's longest stall. The chart does not repaint
        until the set is complete (one paint, not one per line). A line the new set lacks (SPX
        has no VWAP) is removed first, so none lingers from the previous symbol; a switch
        meanwhile stops the rest (the new symbol's pass replaces everything)."""
        c = self._chart
        steps: list[Callable[[], None]] = [
            *(lambda n=name, s=spec: c.set_line(n, s.values, s.color, s.width, s.style, s.breaks)
              for name, spec in specs.items()),
            lambda: c.set_sd_zones(o.zones), lambda: c.set_fvgs(o.fvgs), lambda: c.set_liquidity(o.liquidity),
            lambda: c.set_volume_profile(o.profile), lambda: c.set_levels(o.levels)]
        c.setUpdatesEnabled(False)
        try:
            for name in [n for n in c.line_names() if n not in specs]:
                c.remove_line(name)
            for step in steps:
                if (sym, iv) != (self.symbol, self.interval):
                    return
                step()
                await asyncio.sleep(0)
            self.overlays = o
        finally:
            c.setUpdatesEnabled(True)

    # -- plans ------------------------------------------------------------------------------------
    async def show_plan(self, plan_id: str, version: int | None = None) -> Plan:
        """Draw a stored plan (its lines drag: a release stores a new version)."""
        plan = await self._k.runtime.wrap(self._k.plans.get(plan_id, version))
        self.plan, self.candidate = plan, None
        self._redraw_plan()
        return plan

    def show_candidate(self, candidate: Candidate) -> None:
        """A scan candidate: triggered → its plan (draggable); armed → the would-be plan, dashed,
        with the trigger level and condition; forming/none → nothing to draw."""
        if candidate.plan is None or candidate.state not in (SetupState.TRIGGERED, SetupState.ARMED):
            self.clear_plan()
            return
        self.plan, self.candidate = candidate.plan, candidate
        self._redraw_plan()

    def draw(self, plan: Plan, candidate: Candidate | None = None) -> None:
        """Draw a plan already in hand (a scan candidate's or the Plan panel's): draggable when
        stored, dashed with its trigger when the candidate is only armed."""
        self.plan, self.candidate = plan, candidate
        self._redraw_plan()

    def clear_plan(self) -> None:
        self.plan, self.candidate, self._markers = None, None, []
        self._chart.set_plan(None)
        self._chart.set_markers([])

    def _redraw_plan(self, force: bool = False) -> None:
        """`force`: redraw even when the chart shows this plan (a refused drag puts the lines back)."""
        p, c = self.plan, self.candidate
        if p is None or p.symbol != self.symbol:
            if self._chart.plan() is not None:
                self._chart.set_plan(None)
            return
        if c is not None and c.state is SetupState.ARMED:
            trigger = c.entry if c.entry is not None else p.entry
            view = PlanView(None, p.version, p.direction, p.entry, p.stop, tuple(p.targets),
                            armed=True, trigger=trigger, trigger_text=c.trigger, title=p.playbook)
        else:
            view = plan_view(p)
        # The chart rebuilds every plan line and label on set_plan (~15-50 ms): not when the same
        # plan is already drawn (a switch of interval, the window's draw after a reload).
        if force or view != self._chart.plan():
            self._chart.set_plan(view)
        self._chart.set_markers(self._markers)

    def _on_level_moved(self, plan_id: str, field: str, price: float) -> None:
        self._plan_task = spawn(self.move_level(plan_id, field, price), name="chart-plan-level")

    async def move_level(self, plan_id: str, field: str, price: float) -> Plan | None:
        """Move one level of the shown plan (field entry, stop, tp1..); the kernel validates it and
        stores a new version. A refusal puts the old lines back and shows the reason at the line."""
        plan = self.plan
        if plan is None or plan.plan_id != plan_id:
            return None
        kwargs: dict[str, object] = {}
        if field in ("entry", "stop"):
            kwargs[field] = price
        elif field.startswith("tp") and field[2:].isdigit() and 1 <= int(field[2:]) <= len(plan.targets):
            targets = list(plan.targets)
            targets[int(field[2:]) - 1] = price
            kwargs["targets"] = targets
        else:
            raise InputError("field", f"not a plan level: {field!r}")
        try:
            new = await self._k.runtime.wrap(self._k.plans.update_levels(plan_id, **kwargs))  # type: ignore[arg-type]
        except InputError as exc:
            log.info("plan %s: %s refused: %s", plan_id, field, exc)
            self._redraw_plan(force=True)
            self._chart.show_plan_error(exc.field, exc.reason)
            if self.on_error is not None:
                self.on_error(exc.field, exc.reason)
            return None
        if self.plan is plan:
            self.plan = new
            self._redraw_plan()
        if self.on_plan_changed is not None:
            self.on_plan_changed(new)
        return new

    async def follow(self) -> None:
        """Arm the shown plan: the kernel follows it live; steps arrive as FollowerEvents."""
        if self.plan is None:
            raise InputError("plan", "show a triggered plan first")
        await self._k.runtime.wrap(self._k.plans.follow(self.plan.plan_id))

    async def unfollow(self) -> None:
        if self.plan is not None:
            await self._k.runtime.wrap(self._k.plans.unfollow(self.plan.plan_id))

    def on_follower_event(self, event: FollowerEvent) -> None:
        """QtBridge.follower_event: a marker for the shown plan's entry, TP hits, stop, trail, exit."""
        p = self.plan
        if p is None or event.plan_id != p.plan_id or event.kind in ("triggered", "disarmed"):
            return   # an armed setup's watch: the triggered plan replaces the would-be one on the chart
        kind = event.kind if event.kind in ("entered", "tp_hit", "stop", "trail_adjusted", "exited",
                                            "stop_warning", "invalidated") else None
        if kind is None:
            log.warning("follower event %r has no marker", event.kind)
            return
        text = ""
        if kind == "exited" or kind == "stop":
            r = (event.price - p.entry) * p.sign / p.risk if p.risk > 0 else float("nan")
            dollars = (event.price - p.entry) * p.sign * self.shares
            text = f"{r:+.2f}R  {'+' if dollars >= 0 else '−'}${abs(dollars):,.0f}"
        elif kind == "tp_hit":
            text = f"TP{event.target}"
        self._markers.append(MarkerView(kind, event.ts, event.price, text))
        self._chart.set_markers(self._markers)

    # -- drawings and alerts ----------------------------------------------------------------------
    def _need_drawings(self) -> DrawingsService:
        if self._drawings is None:
            raise InputError("drawings", "the kernel has no drawings service")
        return self._drawings

    async def load_drawings(self) -> None:
        """The symbol's drawings and alerts from the store (every interval shows the same ones)."""
        if self._drawings is None or self.symbol is None:
            return
        sym = self.symbol
        drawings = await self._k.runtime.wrap(self._drawings.drawings(sym))
        alerts = await self._k.runtime.wrap(self._drawings.alerts(sym))
        if sym == self.symbol:
            self._chart.set_drawings([drawing_view(d) for d in drawings])
            self._chart.set_alerts([alert_view(a) for a in alerts])

    def _on_drawing_requested(self, kind: str, points: list, text: str) -> None:
        spawn(self.add_drawing(kind, [tuple(p) for p in points], text or None), name="chart-drawing")

    def _on_drawing_moved(self, drawing_id: int, points: list) -> None:
        spawn(self._move_drawing(drawing_id, [tuple(p) for p in points]), name="chart-drawing-move")

    async def add_drawing(self, kind: str, points: list[tuple[int, float]], text: str | None = None,
                          color: str | None = None) -> Drawing:
        svc, sym = self._need_drawings(), self.symbol
        if sym is None:
            raise InputError("symbol", "no symbol on the chart")
        d = await self._k.runtime.wrap(svc.create_drawing(sym, kind, points, text=text, color=color))
        await self.load_drawings()
        return d

    async def _move_drawing(self, drawing_id: int, points: list[tuple[int, float]]) -> None:
        await self._k.runtime.wrap(self._need_drawings().move_drawing(drawing_id, points))
        await self.load_drawings()

    async def delete_drawing(self, drawing_id: int) -> None:
        await self._k.runtime.wrap(self._need_drawings().delete_drawing(drawing_id))
        await self.load_drawings()

    async def add_alert(self, price: float | None = None, label: str | None = None,
                        drawing_id: int | None = None) -> PriceAlert:
        """An alert on any level (a price: PDH, the plan's stop, the crosshair's price) or on a drawn
        horizontal/trend line; it fires once when a live price crosses it."""
        svc, sym = self._need_drawings(), self.symbol
        if sym is None:
            raise InputError("symbol", "no symbol on the chart")
        a = await self._k.runtime.wrap(svc.create_alert(sym, price=price, drawing_id=drawing_id, label=label))
        await self.load_drawings()
        return a

    async def alert_at_crosshair(self) -> PriceAlert:
        price = self._chart.crosshair_price()
        if price is None:
            raise InputError("price", "move the mouse over the chart to pick a price")
        return await self.add_alert(round(price, 2))

    async def delete_alert(self, alert_id: int) -> None:
        await self._k.runtime.wrap(self._need_drawings().delete_alert(alert_id))
        await self.load_drawings()

    def on_drawings_event(self, event: DrawingChanged | AlertTriggered) -> None:
        """Bus DrawingChanged/AlertTriggered through the bridge: reload when it is this symbol's."""
        if event.symbol == self.symbol:
            spawn(self.load_drawings(), name="chart-drawings-reload")

    # -- second chart -----------------------------------------------------------------------------
    def link(self, other: ChartController) -> None:
        """Another chart (another interval): same symbol on both, crosshairs linked by time."""
        self._linked.append(other)
        other._linked.append(self)
        self._chart.link(other._chart)

    def export_png(self, path: str) -> str:
        return self._chart.export_png(path)

    def close(self) -> None:
        self._generation += 1
        self._release_stream()


async def _release(handle: StreamHandle) -> None:
    handle.release()
