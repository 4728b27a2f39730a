"""Chart drawings and price alerts: CRUD (repository core/store/drawings.py) and the live check.

An alert fires once: when two successive live prices of its symbol (bar updates or closes of any
interval streamed into the bus) lie on either side of its level — or touch it from one side — it is
marked triggered in the store and `AlertTriggered` is published. An alert on a trend line compares
against the line's price at the bar's time."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from core.bus import Bus, Subscription
from core.errors import InputError
from core.events import BarClosed, BarUpdated, Event
from core.runtime import KernelRuntime
from core.services.market import MarketService, StreamHandle
from core.store.drawings import Drawing, DrawingsRepo, PriceAlert
from core.store.engine import Store
from core.store.validation import RecordNotFound, clean_symbol
from core.tasks import spawn

log = logging.getLogger(__name__)

ALERT_STREAM_INTERVAL = "1m"   # what the service streams for a symbol with active alerts


@dataclass(frozen=True, slots=True)
class AlertTriggered(Event):
    """A price alert fired (once). `level` is the alert's price at that moment (a trend line moves)."""

    alert_id: int
    symbol: str
    label: str
    level: float
    price: float          # the live price that crossed it
    ts: int               # UTC ns of the bar that crossed
    drawing_id: int | None = None


@dataclass(frozen=True, slots=True)
class DrawingChanged(Event):
    """A drawing or an alert of `symbol` was created, moved, deleted or triggered (charts reload)."""

    symbol: str
    what: str      # "drawing" | "alert"
    item_id: int
    action: str    # "created" | "moved" | "deleted" | "triggered"


class DrawingsService:
    def __init__(self, market: MarketService | None, store: Store | None, bus: Bus,
                 runtime: KernelRuntime) -> None:
        self._market, self._store, self._bus, self._rt = market, store, bus, runtime
        self._active: dict[str, list[tuple[PriceAlert, Drawing | None]]] = {}
        self._last: dict[str, float] = {}          # last live price per symbol
        self._streams: dict[str, StreamHandle] = {}
        self._sub: Subscription | None = None

    def _repo(self) -> DrawingsRepo:
        if self._store is None:
            raise InputError("store", "the database is not open")
        return DrawingsRepo(self._store)

    # -- life cycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        """Load the active alerts and watch live bars (kernel start, after the feeds)."""
        if self._sub is None:
            self._sub = self._bus.subscribe((BarUpdated, BarClosed), self._on_bar, name="drawings:alerts")
        await self._reload_alerts()

    async def close(self) -> None:
        if self._sub is not None:
            self._sub.cancel()
            self._sub = None
        for handle in self._streams.values():
            handle.release()
        self._streams.clear()

    # -- drawings ---------------------------------------------------------------------------------
    async def create_drawing(self, symbol: str, kind: str, points: Sequence[Sequence[float]], *,
                             text: str | None = None, color: str | None = None) -> Drawing:
        repo = self._repo()
        d = await self._rt.run_io(lambda: repo.add(symbol, kind, points, text=text, color=color))
        self._bus.publish(DrawingChanged(d.symbol, "drawing", d.id, "created"))
        return d

    async def move_drawing(self, drawing_id: int, points: Sequence[Sequence[float]]) -> Drawing:
        repo = self._repo()
        d = await self._rt.run_io(repo.move, drawing_id, points)
        await self._reload_alerts()   # an alert on it follows the line
        self._bus.publish(DrawingChanged(d.symbol, "drawing", d.id, "moved"))
        return d

    async def delete_drawing(self, drawing_id: int) -> None:
        repo = self._repo()
        d = await self._rt.run_io(repo.get, drawing_id)
        if d is None:
            raise RecordNotFound("drawing_id", f"no drawing {drawing_id}")
        await self._rt.run_io(repo.delete, drawing_id)
        await self._reload_alerts()
        self._bus.publish(DrawingChanged(d.symbol, "drawing", drawing_id, "deleted"))

    async def drawings(self, symbol: str) -> list[Drawing]:
        repo = self._repo()
        return await self._rt.run_io(repo.for_symbol, symbol)

    # -- alerts -----------------------------------------------------------------------------------
    async def create_alert(self, symbol: str, *, price: float | None = None, drawing_id: int | None = None,
                           label: str | None = None) -> PriceAlert:
        """An alert on a price (any level: PDH, a plan's stop, a typed number) or on a drawn
        horizontal/trend line (`drawing_id`; the line's current price is stored as `price`)."""
        repo = self._repo()
        sym = clean_symbol(symbol)
        if (price is None) == (drawing_id is None):
            raise InputError("price", "give either a price or a drawing_id")
        if drawing_id is not None:
            d = await self._rt.run_io(repo.get, drawing_id)
            if d is None:
                raise RecordNotFound("drawing_id", f"no drawing {drawing_id}")
            if d.symbol != sym:
                raise InputError("drawing_id", f"drawing {drawing_id} is on {d.symbol}, not {sym}")
            price = d.price_at(d.points[-1][0])
            label = label or f"{d.kind} {price:.2f}"
        assert price is not None
        alert = await self._rt.run_io(lambda: repo.add_alert(sym, price, label or f"{price:.2f}", drawing_id))
        await self._reload_alerts()
        self._bus.publish(DrawingChanged(sym, "alert", alert.id, "created"))
        return alert

    async def delete_alert(self, alert_id: int) -> None:
        repo = self._repo()
        gone = [a for a in await self._rt.run_io(repo.alerts) if a.id == alert_id]
        await self._rt.run_io(repo.delete_alert, alert_id)
        await self._reload_alerts()
        if gone:
            self._bus.publish(DrawingChanged(gone[0].symbol, "alert", alert_id, "deleted"))

    async def alerts(self, symbol: str | None = None, *, active_only: bool = False) -> list[PriceAlert]:
        repo = self._repo()
        return await self._rt.run_io(lambda: repo.alerts(symbol, active_only=active_only))

    # -- the live check ---------------------------------------------------------------------------
    async def _reload_alerts(self) -> None:
        if self._store is None:
            return
        repo = self._repo()

        def load() -> dict[str, list[tuple[PriceAlert, Drawing | None]]]:
            out: dict[str, list[tuple[PriceAlert, Drawing | None]]] = {}
            for a in repo.alerts(active_only=True):
                d = repo.get(a.drawing_id) if a.drawing_id is not None else None
                out.setdefault(a.symbol, []).append((a, d))
            return out

        self._active = await self._rt.run_io(load)
        if self._market is None or self._sub is None:
            return
        for sym in [s for s in self._streams if s not in self._active]:
            self._streams.pop(sym).release()
        for sym in self._active:
            if sym not in self._streams:
                try:
                    self._streams[sym] = await self._market.subscribe(sym, ALERT_STREAM_INTERVAL)
                except InputError as exc:
                    log.warning("alerts on %s: cannot stream it (%s); they fire when its chart streams", sym, exc)

    def _on_bar(self, event: BarUpdated | BarClosed) -> None:
        sym, price, ts = event.symbol, float(event.bar.close), int(event.bar.ts)
        prev = self._last.get(sym)
        self._last[sym] = price
        watching = self._active.get(sym)
        if prev is None or not watching:
            return
        fired: list[tuple[PriceAlert, float]] = []
        for alert, drawing in watching:
            level = drawing.price_at(ts) if drawing is not None and drawing.kind == "trend" else (
                drawing.points[0][1] if drawing is not None else alert.price)
            if crossed(prev, price, level):
                fired.append((alert, level))
        if fired:
            ids = {a.id for a, _ in fired}
            self._active[sym] = [(a, d) for a, d in watching if a.id not in ids]   # once, even before the store answers
            for alert, level in fired:
                spawn(self._fire(alert, level, price, ts), name=f"alert:{alert.id}")

    async def _fire(self, alert: PriceAlert, level: float, price: float, ts: int) -> None:
        repo = self._repo()
        done = await self._rt.run_io(repo.mark_triggered, alert.id, price)
        if done is None:
            return   # deleted or fired meanwhile
        self._bus.publish(AlertTriggered(alert.id, alert.symbol, alert.label, level, price, ts, alert.drawing_id))
        self._bus.publish(DrawingChanged(alert.symbol, "alert", alert.id, "triggered"))


def crossed(prev: float, now: float, level: float) -> bool:
    """True when the price moved from one side of `level` to the other or onto it."""
    return (prev < level <= now) or (prev > level >= now)
