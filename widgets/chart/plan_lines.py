"""A trade plan on the chart: entry, stop and TP1..TPn as labelled, draggable lines over shaded
risk (entry→stop) and reward (entry→farthest target) bands.

Dragging a line recomputes the bands and every R:R label while the mouse moves; the release emits
`level_moved(plan_id, field, price)` (field: entry, stop, tp1, tp2 ...) and the controller asks the
kernel for a new version. A rejected move is shown at the line (`show_error`). An armed plan (not
triggered yet, so not stored) is drawn dashed and fixed, with its trigger level."""

from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from core.errors import InputError
from widgets.chart.levels import BandsItem, Level, LevelsItem
from widgets.chart.overlays import check_color, make_pen
from widgets.theme import Theme

PRICE_TICK = 0.01    # dragged prices snap to this


@dataclass(frozen=True, slots=True)
class PlanView:
    """What the chart needs of a plan (the controller fills it from core.scanner.plan.Plan)."""

    plan_id: str | None
    version: int
    direction: str                 # long | short
    entry: float
    stop: float
    targets: tuple[float, ...]
    armed: bool = False            # a would-be plan: dashed, not draggable
    trigger: float | None = None   # armed: the price that triggers it
    trigger_text: str = ""
    title: str = ""                # e.g. the playbook


class PlanLabel:
    """A plan line's label text (`line.label.format`, as pyqtgraph's InfLineLabel has it). The labels
    are painted by one LevelsItem: an InfLineLabel per line re-placed itself (text item transform,
    endpoint maths) on every view change, the largest part of the plan's cost per pan frame."""

    def __init__(self) -> None:
        self.format = ""


def rr(entry: float, stop: float, target: float) -> float:
    risk = abs(entry - stop)
    return abs(target - entry) / risk if risk > 0 else float("nan")


class PlanLines(QtCore.QObject):
    """Owns the plan's graphics items on one PlotItem."""

    level_moved = QtCore.Signal(str, str, float)   # plan_id, field, new price (on release)
    dragging = QtCore.Signal(str, float)           # field, price (while the mouse moves)

    def __init__(self, plot: pg.PlotItem, theme: Theme) -> None:
        super().__init__()
        self._plot = plot
        self._theme = theme
        self._view: PlanView | None = None
        self._lines: dict[str, pg.InfiniteLine] = {}
        self._colors: dict[str, str] = {}
        self._brushes = (QtGui.QBrush(), QtGui.QBrush())   # risk, reward fills of the shown plan
        # Risk and reward bands and every line's label: one item each for the whole plan.
        self._bands = BandsItem(z=-5)
        self._labels = LevelsItem(z=13)
        for item in (self._bands, self._labels):
            plot.addItem(item, ignoreBounds=True)
        self._error: pg.TextItem | None = None
        self._error_field: str | None = None

    @property
    def view(self) -> PlanView | None:
        return self._view

    def line(self, field: str) -> pg.InfiniteLine:
        if field not in self._lines:
            raise InputError("field", f"no plan line {field!r}; have {', '.join(self._lines)}")
        return self._lines[field]

    def fields(self) -> list[str]:
        return list(self._lines)

    def error_text(self) -> str:
        return self._error.toPlainText() if self._error is not None else ""

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        if self._view is not None:
            self.set_plan(self._view)

    def prices(self) -> dict[str, float]:
        """Current line prices (while dragging: where the lines are now)."""
        return {f: float(line.value()) for f, line in self._lines.items()}

    def set_plan(self, view: PlanView | None) -> None:
        self.clear()
        self._view = view
        if view is None:
            return
        if view.direction not in ("long", "short"):
            raise InputError("direction", f"must be long or short, got {view.direction!r}")
        t = self._theme
        style = "dash" if view.armed else "solid"
        for field, price, color in (("entry", view.entry, t.entry), ("stop", view.stop, t.risk),
                                    *((f"tp{k}", p, t.reward) for k, p in enumerate(view.targets, 1))):
            self._lines[field] = self._add_line(field, price, color, style, movable=not view.armed
                                                and view.plan_id is not None)
        if view.armed and view.trigger is not None:
            self._lines["trigger"] = self._add_line("trigger", view.trigger, t.last_price, "dot", movable=False)
        fill_r, fill_g = check_color(t.risk), check_color(t.reward)
        alpha = t.band_alpha // 2 if view.armed else t.band_alpha
        fill_r.setAlpha(alpha)
        fill_g.setAlpha(alpha)
        self._brushes = (QtGui.QBrush(fill_r), QtGui.QBrush(fill_g))
        self._relabel()

    def clear(self) -> None:
        for item in self._lines.values():
            self._plot.removeItem(item)
        self._lines, self._colors = {}, {}
        self._bands.set_bands([])
        self._labels.set_levels([])
        self.clear_error()
        self._view = None

    def items(self) -> list[pg.GraphicsObject]:
        return [self._bands, self._labels, *self._lines.values()]

    def band_regions(self) -> list[tuple[float, float]]:
        """(low, high) of the risk band, then the reward band."""
        return self._bands.regions()

    def show_error(self, field: str, message: str) -> None:
        """A rejected move: the reason in red at the line it names (or the entry line)."""
        self.clear_error()
        line = self._lines.get(field) or self._lines.get("entry")
        if line is None:
            return
        item = pg.TextItem(f"✖ {message}", color=self._theme.risk, anchor=(0, 0),
                           fill=pg.mkBrush(self._theme.background))
        item.setZValue(30)
        vb = self._plot.getViewBox()
        (x0, x1), _ = vb.viewRange()
        item.setPos(x0 + (x1 - x0) * 0.35, float(line.value()))
        self._plot.addItem(item, ignoreBounds=True)
        self._error, self._error_field = item, field

    def clear_error(self) -> None:
        if self._error is not None:
            self._plot.removeItem(self._error)
        self._error, self._error_field = None, None

    # -- internals --------------------------------------------------------------------------------
    def _add_line(self, field: str, price: float, color: str, style: str, movable: bool) -> pg.InfiniteLine:
        line = pg.InfiniteLine(pos=price, angle=0, movable=movable, pen=make_pen(color, 1.4, style),
                               hoverPen=make_pen(color, 2.6, style))
        line.label = PlanLabel()
        self._colors[field] = color
        line.setZValue(12)
        if movable:
            line.setCursor(QtCore.Qt.CursorShape.SizeVerCursor)
            line.sigPositionChanged.connect(lambda _l, f=field: self._on_drag(f))
            line.sigPositionChangeFinished.connect(lambda _l, f=field: self._on_release(f))
        self._plot.addItem(line, ignoreBounds=True)
        return line

    def _relabel(self) -> None:
        """Bands and labels from the lines' current positions (R:R recomputed while dragging)."""
        v = self._view
        if v is None:
            return
        p = self.prices()
        entry, stop = p["entry"], p["stop"]
        tps = [p[f] for f in self._lines if f.startswith("tp")]
        far = max(tps, key=lambda x: abs(x - entry)) if tps else entry
        self._bands.set_bands([(entry, stop, self._brushes[0]), (entry, far, self._brushes[1])])
        side = v.direction.capitalize()
        risk = abs(entry - stop)
        prefix = "Armed " if v.armed else ""
        texts = {"entry": f"{prefix}{side} entry {entry:.2f}",
                 "stop": f"Stop {stop:.2f}  −{risk:.2f}"}
        for k, tp in enumerate(tps, 1):
            texts[f"tp{k}"] = f"TP{k} {tp:.2f}  {rr(entry, stop, tp):.2f}R"
        if "trigger" in p:
            texts["trigger"] = f"Trigger {p['trigger']:.2f} {v.trigger_text}".strip()
        for f, text in texts.items():
            self._lines[f].label.format = text
        # At the right end of each line, above it, on the line's colour (as the InfLineLabels were).
        self._labels.set_levels([Level(p[f], text, self._colors[f], position=0.98, text_color=self._theme.text,
                                       fill=self._colors[f], line=False) for f, text in texts.items()])

    def _on_drag(self, field: str) -> None:
        line = self._lines[field]
        snapped = round(float(line.value()) / PRICE_TICK) * PRICE_TICK
        if abs(snapped - line.value()) > 1e-12:
            line.blockSignals(True)
            line.setValue(snapped)
            line.blockSignals(False)
        self._relabel()
        self.dragging.emit(field, snapped)

    def _on_release(self, field: str) -> None:
        v = self._view
        if v is None or v.plan_id is None:
            return
        self.clear_error()
        self.level_moved.emit(v.plan_id, field, round(float(self._lines[field].value()), 6))
