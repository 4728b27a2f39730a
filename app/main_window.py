"""The main window: a dockable live chart of the current feed, symbol/interval selectors,
replay controls, the panels (app/panels: watchlist, scanner, plan, contracts, context, notes, event
log, jobs, Connect your GPT) and a status bar that names the feed's state per capability, the
exchange clock and session phase, and the API server.

GUI thread only: kernel calls go through `kernel.runtime.wrap` (the kernel's loop thread), kernel
events arrive through the Qt bridge. Errors of user actions are shown in the status bar and in a
non-modal message — never a modal dialog opened inside a coroutine."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Coroutine
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

# Only what the frame needs at import: it shows before asyncio, the kernel, the chart, the panels
# and most Qt widget types are loaded (app/gui.py; PySide6 initialises each type on first import).
# `attach` imports and builds the rest.
from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow

from core.errors import TradeCoachError
from core.paths import config_dir
from widgets.theme import THEMES, app_palette

if TYPE_CHECKING:
    import asyncio

    from PySide6.QtGui import QAction, QCloseEvent
    from PySide6.QtWidgets import QComboBox, QDockWidget, QMessageBox, QToolBar

    from app.chart_controller import ChartController
    from app.panels.compose import Panels
    from app.panels.settings import SettingsController
    from app.panels.shortcuts import ShortcutsDialog
    from app.predictor_controller import PredictorController
    from app.qt_bridge import QtBridge
    from app.window_controls import QLineEditSearch
    from core.events import BarUpdated
    from core.scanner.plan import Plan
    from core.workstation import Workstation
    from widgets.chart import ChartWidget
    from widgets.predictor_panel import PredictorPanel

log = logging.getLogger(__name__)
T = TypeVar("T")

async def _sync(fn: Callable[[], T]) -> T:
    return fn()


_heap_frozen = False


def freeze_heap() -> None:
    """Move every object alive once the window is up (modules, Qt wrappers, the kernel, the
    loaded history) out of the garbage collector's sight (gc.freeze). A full collection walks every
    tracked object while holding the GIL: with this heap it stalled the GUI thread for hundreds of
    ms whichever thread triggered it (bench/bench_api.py, bench/bench_gui_latency.py print the
    collections' pauses). Frozen objects are still freed by reference counting; only cycles among
    them are never collected (no gc.collect() first: that full pass would be the very stall).
    Once per process: a later window (tests open many) leaves the collector alone."""
    global _heap_frozen
    if not _heap_frozen:
        _heap_frozen = True
        gc.freeze()


class MainWindow(QMainWindow):
    """Built in two steps so a double-click shows the window at once: the frame (title, geometry of
    the last run, the start-up steps as they happen), then `attach(kernel)` — the chart, the docks,
    the toolbar, menus and status bar, once the kernel is up. `MainWindow(kernel)` does both."""

    kernel: Workstation
    bridge: QtBridge
    chart: ChartWidget
    controller: ChartController
    panels: Panels
    predictor: PredictorController
    predictor_panel: PredictorPanel
    settings_ctl: SettingsController
    # the controls (app/window_controls.py)
    symbol_box: QComboBox
    interval_box: QComboBox
    speed_box: QComboBox
    session_box: QComboBox
    search_box: QLineEditSearch
    play_action: QAction
    step_action: QAction
    market_toolbar_action: QAction
    diagnostics_action: QAction
    overlay_actions: dict[str, QAction]
    panel_keys: list[tuple[str, str]]
    hint: QLabel
    hint_bar: QToolBar
    chart_dock: QDockWidget
    predictor_dock: QDockWidget

    def __init__(self, kernel: Workstation | None = None) -> None:
        super().__init__()
        self._closed: asyncio.Event | None = None
        # Layout, symbol and interval of the last run, next to settings.json (never the registry).
        self._qsettings = QSettings(str(config_dir() / "window.ini"), QSettings.Format.IniFormat)
        self.setWindowTitle("Trading Coach Workstation")
        self.resize(1280, 800)
        self._steps: list[str] = []
        self._start_page = QLabel()
        self._start_page.setObjectName("start_page")
        self._start_page.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setCentralWidget(self._start_page)
        self._ui_tasks: set[asyncio.Task[object]] = set()
        self.attached = False
        if kernel is not None:
            self.attach(kernel)

    @property
    def closed(self) -> asyncio.Event:
        """Set once the window is closed (app/gui.py waits on it). Made on first use: asyncio is
        not imported before the frame shows."""
        if self._closed is None:
            import asyncio

            self._closed = asyncio.Event()
        return self._closed

    def start_step(self, text: str) -> None:
        """One line of the frame's start-up page (settings, kernel, window): what the trader waits for."""
        self._steps.append(text)
        self._show_steps("…")
        self.statusBar().showMessage(f"Starting: {text}")

    def start_failed(self, text: str, log_path: Path | None = None) -> None:
        """Start-up stopped: the frame says at which step and why, and stays until closed."""
        import html

        if not self._steps:
            self._steps.append("Starting")
        where = f" The log: {html.escape(str(log_path))}." if log_path is not None else ""
        self._show_steps("✗", f"<p><b>{html.escape(text)}</b></p><p>Correct the setting it names (settings.json "
                              f"in the config folder, or the environment) and start again.{where}</p>")
        self._start_page.setWordWrap(True)
        self.statusBar().showMessage(f"Start-up failed: {text}")

    def _show_steps(self, last_mark: str, after: str = "") -> None:
        lines = [f"✓ {s}" for s in self._steps[:-1]] + [f"{last_mark} {self._steps[-1]}"]
        self._start_page.setText("<h2>Trading Coach Workstation</h2>" + "<br>".join(lines) + after)

    def start_page_text(self) -> str:
        """What the start-up page says, as plain text (tests, the start-up report)."""
        from PySide6.QtGui import QTextDocument

        doc = QTextDocument()
        doc.setHtml(self._start_page.text())
        return doc.toPlainText()

    def remembered_theme(self) -> str:
        """The theme the last run ended with (window.ini): the frame paints in it before the
        settings are read, so a dark workstation never flashes light."""
        theme = str(self._qsettings.value("theme", "dark") or "dark")
        return theme if theme in THEMES else "dark"

    def attach(self, kernel: Workstation) -> None:
        """Build the window on a started (or starting) kernel: imports the chart and panels."""
        from app.chart_controller import ChartController
        from app.panels.settings import SettingsController
        from app.predictor_controller import PredictorController
        from app.qt_bridge import QtBridge
        from app.window_controls import build_hint, build_menus, build_shortcuts, build_toolbar
        from widgets.chart import ChartWidget

        self.kernel = kernel
        self.bridge = QtBridge(kernel.bus)
        self.chart = ChartWidget(theme=THEMES[kernel.settings.theme])
        self.apply_theme(kernel.settings.theme)
        self.controller = ChartController(kernel, self.chart)
        self.second_chart: ChartController | None = None
        self._paused = False
        self._last_error: QMessageBox | None = None
        self._context_shown: tuple[str, float] | None = None  # what the predictor last got from a bar
        self.settings_ctl = SettingsController(self, self._qsettings, self._theme_changed)
        self._build_docks()
        from app.panels.compose import Panels

        self.panels = Panels(self)
        build_toolbar(self)
        self._build_status()
        build_hint(self)
        build_menus(self)
        self.bridge.bar_updated.connect(self.controller.on_bar)
        self.bridge.bar_closed.connect(self.controller.on_bar)
        self.bridge.series_reset.connect(self.controller.on_reset)
        self.bridge.feed_health.connect(self.feed_view.on_feed_health)
        self.bridge.bar_updated.connect(self._on_live_bar)
        self.predictor = PredictorController(kernel, self.predictor_panel, lambda: self.controller.symbol or "SPY")
        self.predictor.note_target = self.panels.notes_ctl.new_from_prediction   # the panel's "New note"
        self.panels.notes_ctl.open_prediction = self._open_prediction              # a note's prediction link
        self.bridge.job_progress.connect(self.predictor.on_job_progress)
        self.bridge.follower_event.connect(self.controller.on_follower_event)
        self.bridge.drawings_changed.connect(self.controller.on_drawings_event)
        self.bridge.alert_triggered.connect(self.controller.on_drawings_event)
        build_shortcuts(self)
        # The replay clock in exchange time, once a second (read on the kernel thread).
        from PySide6.QtCore import QTimer

        self._clock_timer = QTimer(self)
        self._clock_timer.setInterval(1000)
        self._clock_timer.timeout.connect(self._tick_clock)
        self._clock_timer.start()
        self.statusBar().clearMessage()
        self.attached = True

    # -- kernel access -----------------------------------------------------------------------------
    async def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await a kernel coroutine on the kernel's loop."""
        return await self.kernel.runtime.wrap(coro)

    def _spawn(self, coro: Coroutine[Any, Any, object], what: str = "action") -> None:
        import asyncio

        from core.tasks import spawn

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            coro.close()  # a Qt timer fired outside the GUI loop (tests between awaits): nothing to run on
            log.debug("ui:%s skipped: no running event loop", what)
            return
        if self.closed.is_set():
            coro.close()  # the window is gone: never start kernel work for it
            return
        task = spawn(coro, name=f"ui:{what}", on_error=self._on_action_error)
        self._ui_tasks.add(task)
        task.add_done_callback(self._ui_tasks.discard)

    def _on_action_error(self, exc: BaseException) -> None:
        self._error(str(exc) if isinstance(exc, TradeCoachError) else f"{type(exc).__name__}: {exc}")

    def _error(self, text: str) -> None:
        self.statusBar().showMessage(text, 10_000)
        if self.isVisible():
            from PySide6.QtWidgets import QMessageBox

            box = QMessageBox(QMessageBox.Icon.Warning, "Trading Coach", text, QMessageBox.StandardButton.Ok, self)
            box.setModal(False)
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.show()  # non-modal: never spins a nested event loop inside a coroutine
            self._last_error = box

    # -- layout ----------------------------------------------------------------------------------
    def _build_docks(self) -> None:
        from PySide6.QtWidgets import QDockWidget, QWidget

        from app.panels.compose import scrolled
        from widgets.predictor_panel import PredictorPanel

        self.setCentralWidget(QWidget())  # replaces (and deletes) the start-up page
        self.centralWidget().hide()  # everything is a dock the trader can rearrange
        dock = QDockWidget("Chart", self)
        dock.setObjectName("chart_dock")
        dock.setWidget(self.chart)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(Qt.DockWidgetArea.TopDockWidgetArea, dock)
        self.chart_dock = dock
        self.predictor_panel = PredictorPanel()
        pdock = QDockWidget("Predictor", self)
        pdock.setObjectName("predictor_dock")
        pdock.setWidget(scrolled(self.predictor_panel))  # its tall form never sets the window's minimum height
        self.addDockWidget(Qt.DockWidgetArea.TopDockWidgetArea, pdock)
        self.splitDockWidget(dock, pdock, Qt.Orientation.Horizontal)
        self.resizeDocks([dock, pdock], [930, 330], Qt.Orientation.Horizontal)
        self.predictor_dock = pdock

    async def _open_prediction(self, prediction_id: int) -> None:
        await self.predictor.show_stored(prediction_id)
        self.predictor_dock.raise_()

    def _build_status(self) -> None:
        from app.status_view import FeedStatusView

        self.feed_view = FeedStatusView(self, self.panels.feed_text, self._set_paused)
        view = self.feed_view
        self.banner, self.banner_bar, self.badge = view.banner, view.banner_bar, view.badge
        self.status_label, self.caps_label = view.status_label, view.caps_label
        self.clock_label, self.api_label = view.clock_label, view.api_label

    def _dismiss_hint(self) -> None:
        self.hint_bar.hide()
        self._qsettings.setValue("hint_dismissed", "1")

    def _pick_drawing_tool(self, tool: str) -> None:
        if tool != "text":
            self.chart.set_drawing_tool(tool)
            return
        from PySide6.QtWidgets import QInputDialog

        text, ok = QInputDialog.getText(self, "Text on the chart", "Text:")
        if ok and text.strip():
            self.chart.set_drawing_tool("text", text.strip())

    async def open_second_chart(self, interval: str = "15m") -> ChartController:
        """A second chart dock for another interval, linked by symbol and crosshair."""
        if self.second_chart is None:
            from PySide6.QtWidgets import QDockWidget

            from app.chart_controller import ChartController
            from widgets.chart import ChartWidget

            chart2 = ChartWidget(theme=THEMES[self.kernel.settings.theme])
            ctl2 = ChartController(self.kernel, chart2)
            dock = QDockWidget("Chart 2", self)
            dock.setObjectName("chart2_dock")
            dock.setWidget(chart2)
            self.addDockWidget(Qt.DockWidgetArea.TopDockWidgetArea, dock)
            self.splitDockWidget(self.chart_dock, dock, Qt.Orientation.Horizontal)
            self.controller.link(ctl2)
            self.bridge.bar_updated.connect(ctl2.on_bar)
            self.bridge.bar_closed.connect(ctl2.on_bar)
            self.bridge.series_reset.connect(ctl2.on_reset)
            self.second_chart = ctl2
        await self.second_chart.show(self.controller.symbol or self.symbol_box.currentText(), interval)
        return self.second_chart

    async def copy_diagnostics(self) -> str:
        """The diagnostics report on the clipboard; built on the kernel's io pool (database, log
        file, keyring), never on the GUI thread."""
        from core.diagnostics import collect, render

        kernel = self.kernel
        report = await self.call(kernel.runtime.run_io(lambda: collect(kernel.settings, kernel=kernel)))
        text = render(report)
        QApplication.clipboard().setText(text)
        self.statusBar().showMessage(f"Diagnostics copied to the clipboard ({len(report['log']['lines'])} log lines,"
                                     " secrets removed)", 8_000)
        return text

    def _export_png(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getSaveFileName(self, "Export chart", f"{self.controller.symbol or 'chart'}.png",
                                              "PNG images (*.png)")
        if path:
            saved = self.controller.export_png(path)
            self.statusBar().showMessage(f"Chart saved to {saved}", 8_000)

    def _select_interval(self, name: str) -> None:
        i = self.interval_box.findText(name)
        if i >= 0:
            self.interval_box.setCurrentIndex(i)  # currentTextChanged → the chart follows

    def shortcut_rows(self) -> list[tuple[str, str]]:
        from app.panels.shortcuts import GENERAL

        return [*GENERAL, *self.panel_keys]

    def show_shortcuts(self) -> ShortcutsDialog:
        from app.panels.shortcuts import ShortcutsDialog

        dialog = ShortcutsDialog(self.shortcut_rows())
        dialog.setParent(self, dialog.windowFlags())
        dialog.show()
        self._shortcuts_dialog = dialog
        return dialog

    def open_settings(self) -> object:
        dialog = self.settings_ctl.open()
        dialog.setParent(self, dialog.windowFlags())
        return dialog

    def apply_theme(self, theme: str) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.setPalette(app_palette(THEMES[theme]))
        self._qsettings.setValue("theme", theme)  # the next start's frame paints in it

    def _theme_changed(self, theme: str) -> None:
        self.apply_theme(theme)
        self.chart.set_theme(THEMES[theme])

    def capture_to_note(self) -> None:
        if self.controller.symbol and self.controller.interval:
            self.panels.notes_ctl.new_from_screenshot(self.controller.symbol, self.controller.interval.name)
            self.panels.docks["notes"].raise_()

    def export_notes(self, note_ids: list[int] | None = None) -> None:
        """The notes panel's export: the given notes (all when none) → Markdown files in a folder."""
        from PySide6.QtWidgets import QFileDialog

        folder = QFileDialog.getExistingDirectory(self, "Export notes to a folder")
        if folder:
            self._spawn(self._export_notes(Path(folder), note_ids or None), "export notes")

    async def _export_notes(self, folder: Path, note_ids: list[int] | None = None) -> None:
        paths = await self.panels.notes_ctl.export(folder, note_ids)
        self.statusBar().showMessage(f"Exported {len(paths)} notes to {folder}", 8_000)

    def show_symbol(self, symbol: str, interval: str | None = None) -> None:
        """Open a symbol (and optionally an interval) on the chart, as the toolbar boxes do."""
        if self.symbol_box.findText(symbol) < 0:
            self.symbol_box.blockSignals(True)
            self.symbol_box.addItem(symbol)
            self.symbol_box.blockSignals(False)
        self._select(self.symbol_box, symbol)
        if interval:
            self._select(self.interval_box, interval)
        self._show_current()

    def draw_plan(self, plan: Plan) -> None:
        """Draw the plan on the chart when the chart shows its symbol (the chart's own plan drawing
        when it has one, else its plan bands)."""
        if plan.symbol != self.controller.symbol:
            return
        self.controller.draw(plan)

    def _tick_clock(self) -> None:
        if self.kernel.runtime.running and not self.closed.is_set():
            from core.tasks import spawn

            spawn(self._show_clock(), name="ui:clock")

    async def _show_clock(self) -> None:
        from app.panels.compose import exchange_clock

        symbol = self.controller.symbol or self.kernel.settings.default_symbol
        text = await self.call(_sync(lambda: exchange_clock(self.kernel, symbol)))
        self.clock_label.setText(f" {text} ")
        self._show_api()

    def _show_api(self) -> None:
        self.api_label.setText(f" {self.panels.gpt_ctl.status_text()} ")

    def _on_live_bar(self, event: BarUpdated) -> None:
        # Only the chart's own series moves the predictor's price (every watched symbol streams
        # bars), and only when the price changed: at 1000× this ran thousands of times a minute.
        ctl = self.controller
        if event.symbol != ctl.symbol or event.interval != ctl.interval or not len(ctl.bars):
            return
        price = float(ctl.bars.close[-1])
        if (ctl.symbol, price) != self._context_shown:
            self._context_shown = (ctl.symbol, price)
            self.predictor_panel.set_context(ctl.symbol, price)

    # -- startup -----------------------------------------------------------------------------------
    async def open_initial(self, symbol: str | None = None, interval: str | None = None) -> None:
        """Fill the controls from the kernel and show the first chart. Without arguments, the last
        symbol and interval of the previous run (then the settings' defaults)."""
        from PySide6.QtWidgets import QCompleter

        from app.panels.host import value

        market = self.kernel.market
        symbols = await self.call(_sync(market.symbols))
        status = await self.call(_sync(market.status))
        speed = await self.call(_sync(market.replay_speed))
        self._paused = await self.call(_sync(market.replay_paused))
        self.symbol_box.blockSignals(True)
        self.symbol_box.addItems(symbols)
        self.symbol_box.blockSignals(False)
        remembered_symbol = str(self._qsettings.value("symbol", "") or "")
        remembered_interval = str(self._qsettings.value("interval", "") or "")
        symbol = symbol or remembered_symbol or self.kernel.settings.default_symbol
        interval = interval or remembered_interval or self.kernel.settings.default_interval
        self._select(self.symbol_box, symbol)
        self._select(self.interval_box, interval)
        self._select(self.speed_box, f"{speed:g}×")
        self.feed_view.show_status(status)
        self.feed_view.set_health(await self.call(value(market.health)))
        completer = QCompleter(symbols, self.search_box)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.search_box.setCompleter(completer)
        await self._show(self.symbol_box.currentText(), self.interval_box.currentText())
        self._spawn(self._open_panels(str(self._qsettings.value("watchlist", "") or "") or None), "panels")

    async def _open_panels(self, watchlist: str | None) -> None:
        await self.panels.open(watchlist)
        freeze_heap()

    def restore_layout(self) -> None:
        """Window geometry and dock layout of the previous run (closed docks stay closed)."""
        self.restore_geometry()
        self.restore_state()

    def restore_geometry(self) -> None:
        """Where the window was and how large: the frame opens there before the docks exist."""
        geometry = self._qsettings.value("geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)

    def restore_state(self) -> None:
        """The docks and toolbars as the trader left them (after `attach`)."""
        state = self._qsettings.value("state")
        if isinstance(state, QByteArray):
            self.restoreState(state)

    def save_layout(self) -> None:
        self._qsettings.setValue("geometry", self.saveGeometry())
        self._qsettings.setValue("state", self.saveState())
        if self.controller.symbol:
            self._qsettings.setValue("symbol", self.controller.symbol)
        if self.controller.interval:
            self._qsettings.setValue("interval", self.controller.interval.name)
        self._qsettings.setValue("watchlist", self.panels.watchlist_ctl.name)
        self._qsettings.sync()

    @staticmethod
    def _select(box: QComboBox, text: str) -> None:
        i = box.findText(text)
        if i >= 0:
            box.blockSignals(True)
            box.setCurrentIndex(i)
            box.blockSignals(False)

    # -- user intent → kernel ------------------------------------------------------------------------
    def _show_current(self) -> None:
        self._spawn(self._show(self.symbol_box.currentText(), self.interval_box.currentText()), "show")

    async def _show(self, symbol: str, interval: str) -> None:
        await self.controller.show(symbol, interval)
        bars = self.controller.bars
        self.predictor_panel.set_context(symbol, float(bars.close[-1]) if len(bars) else None)
        self._context_shown = None  # the next live bar sets the price again
        plan = self.panels.plan_ctl.plan
        if plan is not None and plan.symbol == self.controller.symbol:
            self.draw_plan(plan)
        else:
            self.chart.clear_plan_bands()
        if self.panels.context_ctl.symbol not in (None, self.controller.symbol):
            self.panels.context_ctl.show(self.controller.symbol or symbol)
        await self._refresh_sessions(symbol)

    async def _refresh_sessions(self, symbol: str) -> None:
        market = self.kernel.market
        sessions = await self.call(market.replay_sessions(symbol))
        status = await self.call(_sync(lambda: market.replay_status(symbol)))
        self.session_box.blockSignals(True)
        self.session_box.clear()
        for s in sessions:
            self.session_box.addItem(s.label, s.day.isoformat())
        current = status.extra.get("real_session")
        if current:
            i = self.session_box.findData(current)
            if i >= 0:
                self.session_box.setCurrentIndex(i)
        self.session_box.blockSignals(False)

    def _toggle_play(self) -> None:
        market = self.kernel.market
        self._spawn(self.call(market.replay_resume() if self._paused else market.replay_pause()), "play")
        self._set_paused(not self._paused)

    def _set_paused(self, paused: bool) -> None:
        self._paused = paused
        self.play_action.setText("Play" if paused else "Pause")
        self.step_action.setEnabled(paused)

    def _step(self) -> None:
        if not self._paused:
            self.statusBar().showMessage("Pause the replay to step one bar at a time", 5_000)
            return
        self._spawn(self.call(self.kernel.market.replay_step(self.symbol_box.currentText())), "step")

    def _speed_changed(self, index: int) -> None:
        from app.window_controls import SPEEDS

        self._spawn(self.call(self.kernel.market.replay_set_speed(float(SPEEDS[index]))), "speed")

    def _session_chosen(self, index: int) -> None:
        day = date.fromisoformat(str(self.session_box.itemData(index)))
        self._spawn(self.call(self.kernel.market.replay_jump(self.symbol_box.currentText(), day)), "session")

    # -- state → view ------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.attached:  # closed during start-up: app/gui.py stops the kernel it started
            self.closed.set()
            super().closeEvent(event)
            return
        self._clock_timer.stop()
        self.panels.close()  # typed-but-unsaved note text is saved first
        self.save_layout()
        self.controller.close()
        self.bridge.close()
        self.closed.set()
        for task in list(self._ui_tasks):
            if not task.get_name().startswith("ui:note"):
                task.cancel()
        super().closeEvent(event)
