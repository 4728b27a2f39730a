"""What the chart draws over the candles: the plan (draggable lines), overlays from core (zones,
FVGs, liquidity pools, volume profile, levels, anchored VWAPs, each group toggleable), the trader's
drawings, price alerts and follower markers. A mixin of ChartWidget: it works on the widget's
plots and layers."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from widgets.chart.widget import ChartWidget

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from core.errors import InputError
from widgets.chart.boxes import Box
from widgets.chart.drawings import AlertView, DrawingLayer, DrawingView, MarkerView
from widgets.chart.levels import Level
from widgets.chart.plan_lines import PlanLines, PlanView

OVERLAY_GROUPS = ("zones", "fvg", "liquidity", "volume_profile", "levels", "avwap")
AVWAP_PREFIX = "AVWAP"   # set_lines names starting with this belong to the "avwap" group
FILLED_FVG_ALPHA = 12    # a filled gap fades to this fill opacity


class ChartAnnotations:
    """Plan, overlay, drawing, alert and marker methods of ChartWidget."""

    # -- plan (draggable) -------------------------------------------------------------------------
    def set_plan(self, plan: PlanView | None) -> None:
        """Show a plan: entry, stop, TP1..TPn lines with R:R labels, shaded risk and reward. A stored
        plan's lines drag (release → `plan_level_moved`); an armed plan is dashed with its trigger."""
        if plan is not None and not isinstance(plan, PlanView):
            raise InputError("plan", f"expected PlanView, got {type(plan).__name__}")
        self._plan.set_plan(plan)
        self._autoscale_y()

    def plan(self) -> PlanView | None:
        return self._plan.view

    def plan_lines(self) -> PlanLines:
        """The plan's lines (tests drag `plan_lines().line('stop')`)."""
        return self._plan

    def show_plan_error(self, field: str, message: str) -> None:
        """A rejected level move: shown in red at the line `field` names."""
        self._plan.show_error(field, message)

    def plan_error(self) -> str:
        return self._plan.error_text()

    # -- overlays from core -----------------------------------------------------------------------
    def set_sd_zones(self, zones: list[tuple[str, float, float, str, int]]) -> None:
        """Supply/demand zones as (kind 'supply'|'demand', low, high, strength, start_ts_ns), drawn
        from their pivot bar to the right edge."""
        t = self._theme
        boxes = []
        for k, z in enumerate(zones):
            if len(z) != 5 or z[0] not in ("supply", "demand"):
                raise InputError(f"zones[{k}]", "expected (supply|demand, low, high, strength, ts)")
            kind, lo, hi, strength, ts = z
            alpha = {"strong": 60, "moderate": 40}.get(strength, 25)
            boxes.append(Box(self._tmap.ts_to_x(int(ts)) - 0.5, None, float(lo), float(hi),
                             t.down if kind == "supply" else t.up, alpha, f"{kind} ({strength})"))
        self._sd_boxes.set_boxes(boxes)
        self._overlay_data["zones"] = [{"kind": z[0], "low": float(z[1]), "high": float(z[2])} for z in zones]
        self._sd_boxes.setVisible(self._overlay_on["zones"])

    def set_fvgs(self, gaps: list[tuple[str, float, float, int, int | None]]) -> None:
        """Fair value gaps as (kind bullish|bearish, bottom, top, ts_ns, filled_ts_ns or None): open
        gaps run to the right edge, filled ones end at the fill and fade."""
        t = self._theme
        boxes = []
        for k, g in enumerate(gaps):
            if len(g) != 5 or g[0] not in ("bullish", "bearish"):
                raise InputError(f"gaps[{k}]", "expected (bullish|bearish, bottom, top, ts, filled_ts)")
            kind, bottom, top, ts, filled_ts = g
            x1 = None if filled_ts is None else self._tmap.ts_to_x(int(filled_ts)) + 0.5
            boxes.append(Box(self._tmap.ts_to_x(int(ts)) - 1.5, x1, float(bottom), float(top),
                             t.up if kind == "bullish" else t.down,
                             45 if filled_ts is None else FILLED_FVG_ALPHA,
                             "FVG" if filled_ts is None else ""))
        self._fvg_boxes.set_boxes(boxes)
        self._overlay_data["fvg"] = [{"kind": g[0], "bottom": float(g[1]), "top": float(g[2]),
                                      "filled": g[4] is not None} for g in gaps]
        self._fvg_boxes.setVisible(self._overlay_on["fvg"])

    def set_liquidity(self, pools: list[tuple[str, float, bool]]) -> None:
        """Liquidity pools as (label e.g. 'EQH ×3', level, swept): dotted lines, swept ones dimmed."""
        self._pool_layer.set_levels([
            Level(float(level), f"{label} {float(level):.2f}" + (" swept" if swept else ""),
                  self._theme.axis if swept else self._theme.last_price, "dot", position=0.3)
            for label, level, swept in pools])
        self._pool_layer.setVisible(self._overlay_on["liquidity"])
        self._overlay_data["liquidity"] = [{"label": p[0], "price": float(p[1]), "swept": bool(p[2])}
                                           for p in pools]

    def set_volume_profile(self, profile: tuple[np.ndarray, np.ndarray, float, float, float] | None) -> None:
        """(edges, volume per bin, poc, vah, val) of the visible session(s), or None to remove."""
        if profile is None:
            self._profile.clear()
            self._vp_layer.set_levels([])
            self._overlay_data["volume_profile"] = []
            return
        edges, volume, poc, vah, val = profile
        if len(edges) != len(volume) + 1:
            raise InputError("profile", "edges must have one more entry than volume")
        self._profile.set_profile(edges, volume, val, vah, self._theme.level)
        self._profile.setVisible(self._overlay_on["volume_profile"])
        self._vp_layer.set_levels([
            Level(float(poc), f"POC {float(poc):.2f}", self._theme.last_price, "solid", position=0.75),
            Level(float(vah), f"VAH {float(vah):.2f}", self._theme.level, "dot", position=0.75),
            Level(float(val), f"VAL {float(val):.2f}", self._theme.level, "dot", position=0.75)])
        self._vp_layer.setVisible(self._overlay_on["volume_profile"])
        self._overlay_data["volume_profile"] = [{"poc": float(poc), "vah": float(vah), "val": float(val)}]

    def set_overlay_visible(self, group: str, on: bool) -> None:
        """Show or hide one overlay group (OVERLAY_GROUPS); the data stays, so on again is instant."""
        if group not in OVERLAY_GROUPS:
            raise InputError("group", f"must be one of {', '.join(OVERLAY_GROUPS)}, got {group!r}")
        self._overlay_on[group] = bool(on)
        items: list[pg.GraphicsObject] = {
            "zones": [self._sd_boxes], "fvg": [self._fvg_boxes], "liquidity": [self._pool_layer],
            "volume_profile": [self._profile, self._vp_layer], "levels": [self._level_layer],
            "avwap": [it for n, (_v, it) in self._lines.items() if n.startswith(AVWAP_PREFIX)],
        }[group]
        for item in items:
            item.setVisible(bool(on))
        self._refresh_legend()
        self._autoscale_y()

    def overlay_visible(self, group: str) -> bool:
        if group not in OVERLAY_GROUPS:
            raise InputError("group", f"must be one of {', '.join(OVERLAY_GROUPS)}, got {group!r}")
        return self._overlay_on[group]

    # -- drawings, alerts, follower markers -----------------------------------------------------------
    def set_drawing_tool(self, kind: str | None, text: str = "") -> None:
        """Arm a drawing tool: 'hline' (one click), 'trend' and 'rect' (two clicks), 'text' (one
        click, `text` placed). The finished shape is emitted as `drawing_requested`; None cancels."""
        self._draw.set_tool(kind, text)

    def drawing_tool(self) -> str | None:
        return self._draw.tool

    def set_drawings(self, drawings: list[DrawingView]) -> None:
        self._draw.set_drawings(drawings)

    def drawings(self) -> list[DrawingView]:
        return self._draw.drawings

    def set_alerts(self, alerts: list[AlertView]) -> None:
        self._draw.set_alerts(alerts)

    def alerts(self) -> list[AlertView]:
        return self._draw.alerts

    def set_markers(self, markers: list[MarkerView]) -> None:
        """Follower markers: entry, TP hits, stop, trail moves; exits carry their P/L text."""
        self._draw.set_markers(markers)

    def markers(self) -> list[MarkerView]:
        return self._draw.markers

    def drawing_layer(self) -> DrawingLayer:
        return self._draw

    def data_to_time(self, x: float) -> int:
        """Bar-index x → UTC ns (for tests and the window's 'alert at cursor')."""
        return self._tmap.x_to_ts(x)

    def time_to_x(self, ts: int) -> float:
        return self._tmap.ts_to_x(ts)

    def crosshair_price(self) -> float | None:
        """The price under the horizontal crosshair line, None when the mouse is away."""
        return float(self._hline.value()) if self._hline.isVisible() else None

    def _on_click(self, event: object) -> None:
        btn = event.button() if hasattr(event, "button") else None
        pos = event.scenePos()
        vb = self._price.getViewBox()
        if not vb.sceneBoundingRect().contains(pos):
            return
        pt = vb.mapSceneToView(pos)
        if btn == QtCore.Qt.MouseButton.RightButton:
            menu = QtWidgets.QMenu(self)
            for action in self.context_actions(pt.x(), pt.y(), menu):
                menu.addAction(action)
            event.accept()
            menu.popup(QtGui.QCursor.pos())
            return
        if btn == QtCore.Qt.MouseButton.LeftButton and self._draw.tool is not None and self._draw.click(pt.x(), pt.y()):
            event.accept()

    def context_actions(self, x: float, y: float, parent: QtCore.QObject | None = None) -> list[QtGui.QAction]:
        """The right-click menu at data point (x, y): an alert at that price, an alert on the level,
        plan line or drawn line near the click (within 6 px), and removing a drawing or an alert."""
        parent = parent or self
        vb = self._price.getViewBox()
        (_, _), (y0, y1) = vb.viewRange()
        tol = 6.0 * (y1 - y0) / max(1.0, vb.height())
        out: list[QtGui.QAction] = []

        def action(text: str, fn: object) -> None:
            a = QtGui.QAction(text, parent)
            a.triggered.connect(fn)
            out.append(a)

        price = round(float(y), 2)
        action(f"Add alert at {price:.2f}", lambda _checked=False: self.alert_requested.emit(price, f"{price:.2f}"))
        named = [(str(lab), float(p)) for lab, p in self._levels_args]
        view = self._plan.view
        if view is not None:
            named += [(f.upper() if f.startswith("tp") else f.capitalize(), p) for f, p in self._plan.prices().items()]
        for label, level in named:
            if abs(level - y) <= tol:
                action(f"Add alert on {label} {level:.2f}",
                       lambda _checked=False, lab=label, lv=level: self.alert_requested.emit(round(lv, 4), lab))
        ts = self._tmap.x_to_ts(x) if len(self._store) else 0
        for d in self._draw.drawings:
            if d.kind in ("hline", "trend"):
                at = d.points[0][1] if d.kind == "hline" else _line_price(d.points, ts)
                if abs(at - y) <= tol:
                    action(f"Add alert on this {'line' if d.kind == 'hline' else 'trend line'}",
                           lambda _checked=False, i=d.id: self.drawing_alert_requested.emit(i))
                    action("Delete drawing", lambda _checked=False, i=d.id: self.drawing_delete_requested.emit(i))
        for a in self._draw.alerts:
            if abs(a.price - y) <= tol:
                action(f"Delete alert {a.label}", lambda _checked=False, i=a.id: self.alert_delete_requested.emit(i))
        return out

    # -- linked chart, export, legend, describe --------------------------------------------------------
    def show_time_cursor(self, ts: int) -> None:
        """Show the vertical crosshair at time `ts` (another chart's hover; -1 hides it)."""
        if ts < 0 or not len(self._store) or self._mouse_pos is not None:
            if ts < 0 and self._mouse_pos is None:
                for line in (self._vline, self._vline_vol):
                    line.setVisible(False)
                self._linked_x = None
            return
        i = min(max(int(np.searchsorted(self._store.ts, ts, "right")) - 1, 0), len(self._store) - 1)
        self._linked_x = float(i)
        for line in (self._vline, self._vline_vol):
            line.setPos(i)
            line.setVisible(True)

    def link(self, other: ChartWidget) -> None:
        """Link crosshairs both ways with another chart (a second interval of the same symbol)."""
        self.hovered_time.connect(other.show_time_cursor)
        other.hovered_time.connect(self.show_time_cursor)

    def export_png(self, path: str) -> str:
        """Save what the chart shows as a PNG; returns the path."""
        from pathlib import Path

        target = Path(path)
        if target.suffix.lower() != ".png":
            raise InputError("path", f"must end in .png, got {path!r}")
        if not target.parent.is_dir():
            raise InputError("path", f"folder {target.parent} does not exist")
        self.flush()
        if not self.grab().save(str(target), "PNG"):
            raise InputError("path", f"could not write {target}")
        return str(target)

    def legend_text(self) -> str:
        """The legend's line names in order (plain text)."""
        return "  ".join(n for n, (_v, it) in self._lines.items() if it.isVisible())

    def _refresh_legend(self) -> None:
        parts = []
        for name, (_v, item) in self._lines.items():
            if item.isVisible():
                color = item.opts["pen"].color().name() if hasattr(item.opts["pen"], "color") else "#cccccc"
                parts.append(f'<span style="color:{color}">━ {name}</span>')
        html = "&nbsp;&nbsp;".join(parts)
        if html != self._legend.text():   # new names or colours; a line whose values changed needs no pass
            self._legend.setText(html)
            if not self._legend.styleSheet():
                self._legend.setStyleSheet("background: transparent;")
            self._legend.adjustSize()
        self._legend.move(8, 6 + self._label.height())
        self._legend.setVisible(bool(parts))
        self._legend.raise_()

    def describe(self) -> dict[str, object]:
        """What the chart shows, as JSON-ready data (the smoke test and the API read it)."""
        v = self._plan.view
        plan: dict[str, object] | None = None
        if v is not None:
            prices = self._plan.prices()
            plan = {"plan_id": v.plan_id, "version": v.version, "direction": v.direction, "armed": v.armed,
                    "lines": {f: round(p, 4) for f, p in prices.items()}, "error": self._plan.error_text() or None}
        start, stop = self.visible_range()
        return {
            "symbol": self._symbol, "interval": self._interval.name if self._interval else None,
            "bars": len(self._store), "visible": [start, stop], "theme": self._theme.name,
            "lines": [n for n, (_v, it) in self._lines.items() if it.isVisible()],
            "plan": plan,
            "overlays": {g: {"on": self._overlay_on[g], "items": self._overlay_items(g)} for g in OVERLAY_GROUPS},
            "drawings": [{"id": d.id, "kind": d.kind, "points": [list(p) for p in d.points], "text": d.text}
                         for d in self._draw.drawings],
            "alerts": [{"id": a.id, "price": a.price, "label": a.label, "status": a.status}
                       for a in self._draw.alerts],
            "markers": [{"kind": m.kind, "ts": m.ts, "price": m.price, "text": m.text} for m in self._draw.markers],
            "drawing_tool": self._draw.tool,
        }

    def _overlay_items(self, group: str) -> list[dict[str, object]]:
        if group == "levels":
            return [{"label": str(lab), "price": float(p)} for lab, p in self._levels_args]
        if group == "avwap":
            return [{"name": n} for n in self._lines if n.startswith(AVWAP_PREFIX)]
        return list(self._overlay_data[group])


def _line_price(points: tuple[tuple[int, float], ...], ts: int) -> float:
    (t0, p0), (t1, p1) = points
    return p0 if t1 == t0 else p0 + (p1 - p0) * (ts - t0) / (t1 - t0)


def blend(fg: str, bg: str, alpha: float) -> str:
    """`fg` painted at `alpha` over `bg`, as an opaque colour."""
    f, b = QtGui.QColor(fg), QtGui.QColor(bg)
    mix = [round(a * alpha + c * (1 - alpha)) for a, c in
           ((f.red(), b.red()), (f.green(), b.green()), (f.blue(), b.blue()))]
    return QtGui.QColor(*mix).name()
