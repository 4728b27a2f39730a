"""The main window: a dockable live chart of the current feed, symbol/interval selectors,
replay controls, the panels (app/panels: watchlist, scanner, plan, contracts, context, notes, event
log, jobs, Connect your GPT) and a status bar that names the feed's state per capability, the
exchange clock and session phase, and the API server.

GUI thread only: kernel calls go through `kernel.runtime.wrap` (the kernel's loop thread), kernel
events arrive through the Qt bridge. Errors of user actions are shown in the status bar and in a
non-modal message — never a modal dialog opened inside a coroutine."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable, Coroutine
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QCompleter,
    QDockWidget,
    QFileDialog,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QToolBar,
    QWidget,
)

from app.chart_controller import ChartController
from app.panels.compose import Panels, exchange_clock, scrolled
from app.panels.host import value
from app.panels.settings import SettingsController
from app.panels.shortcuts import GENERAL, ShortcutsDialog
from app.predictor_controller import PredictorController
from app.qt_bridge import QtBridge
from core.config import config_dir
from core.errors import TradeCoachError
from core.events import BarUpdated, FeedHealthChanged, FeedState, FeedStatus
from core.market.intervals import ALL
from core.scanner.plan import Plan
from core.tasks import spawn
from core.workstation import Workstation
from widgets.chart import OVERLAY_GROUPS, ChartWidget
from widgets.predictor_panel import PredictorPanel
from widgets.theme import THEMES, app_palette

log = logging.getLogger(__name__)
T = TypeVar("T")

SPEEDS = (1, 2, 5, 10, 30, 60, 120, 300, 600, 1000)
STATE_COLORS = {
    FeedState.LIVE: "#2e7d32", FeedState.REPLAY: "#1565c0", FeedState.PAUSED: "#6d4c41",
    FeedState.DEGRADED: "#ef6c00", FeedState.FINISHED: "#546e7a", FeedState.ERROR: "#c62828",
}


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
    def __init__(self, kernel: Workstation) -> None:
        super().__init__()
        self.kernel = kernel
        self.closed = asyncio.Event()
        # Layout, symbol and interval of the last run, next to settings.json (never the registry).
        self._qsettings = QSettings(str(config_dir() / "window.ini"), QSettings.Format.IniFormat)
        self.setWindowTitle("Trading Coach Workstation")
        self.resize(1280, 800)
        self.bridge = QtBridge(kernel.bus)
        self.chart = ChartWidget(theme=THEMES[kernel.settings.theme])
        self._apply_palette(kernel.settings.theme)
        self.controller = ChartController(kernel, self.chart)
        self.second_chart: ChartController | None = None
        self._paused = False
        self._last_error: QMessageBox | None = None
        self._ui_tasks: set[asyncio.Task[object]] = set()
        self._health: dict[str, FeedStatus] = {}
        self._context_shown: tuple[str, float] | None = None  # what the predictor last got from a bar
        self.settings_ctl = SettingsController(self, self._qsettings, self._theme_changed)
        self._build_docks()
        self.panels = Panels(self)
        self._build_toolbar()
        self._build_status()
        self._build_hint()
        self._build_menus()
        self.bridge.bar_updated.connect(self.controller.on_bar)
        self.bridge.bar_closed.connect(self.controller.on_bar)
        self.bridge.series_reset.connect(self.controller.on_reset)
        self.bridge.feed_health.connect(self._on_feed_health)
        self.bridge.bar_updated.connect(self._on_live_bar)
        self.predictor = PredictorController(kernel, self.predictor_panel, lambda: self.controller.symbol or "SPY")
        self.predictor.note_target = self.panels.notes_ctl.new_from_prediction   # the panel's "New note"
        self.panels.notes_ctl.open_prediction = self._open_prediction              # a note's prediction link
        self.bridge.job_progress.connect(self.predictor.on_job_progress)
        self.bridge.follower_event.connect(self.controller.on_follower_event)
        self.bridge.drawings_changed.connect(self.controller.on_drawings_event)
        self.bridge.alert_triggered.connect(self.controller.on_drawings_event)
        self._build_shortcuts()
        # The replay clock in exchange time, once a second (read on the kernel thread).
        self._clock_timer = QTimer(self)
        self._clock_timer.setInterval(1000)
        self._clock_timer.timeout.connect(self._tick_clock)
        self._clock_timer.start()

    # -- kernel access -----------------------------------------------------------------------------
    async def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await a kernel coroutine on the kernel's loop."""
        return await self.kernel.runtime.wrap(coro)

    def _spawn(self, coro: Coroutine[Any, Any, object], what: str = "action") -> None:
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
            box = QMessageBox(QMessageBox.Icon.Warning, "Trading Coach", text, QMessageBox.StandardButton.Ok, self)
            box.setModal(False)
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.show()  # non-modal: never spins a nested event loop inside a coroutine
            self._last_error = box

    # -- layout ----------------------------------------------------------------------------------
    def _build_docks(self) -> None:
        self.setCentralWidget(QWidget())
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

    def _build_toolbar(self) -> None:
        tb = QToolBar("Market", self)
        tb.setObjectName("market_toolbar")
        tb.setMovable(False)
        self.addToolBar(tb)
        self.symbol_box = QComboBox()
        self.symbol_box.setToolTip("Symbol")
        self.interval_box = QComboBox()
        self.interval_box.setToolTip("Interval")
        self.interval_box.addItems([iv.name for iv in ALL])
        tb.addWidget(QLabel(" Symbol "))
        tb.addWidget(self.symbol_box)
        tb.addWidget(QLabel(" Interval "))
        tb.addWidget(self.interval_box)
        tb.addSeparator()
        self.play_action = QAction("Pause", self)
        self.play_action.setToolTip("Pause or resume the replay (Space)")
        self.play_action.setShortcut(QKeySequence(Qt.Key.Key_Space))
        self.play_action.triggered.connect(self._toggle_play)
        tb.addAction(self.play_action)
        # Both labels take the same width so the boxes after the button never shift.
        button = tb.widgetForAction(self.play_action)
        if button is not None:
            button.setMinimumWidth(button.fontMetrics().horizontalAdvance("Pause") + 24)
        self.step_action = QAction("Step", self)
        self.step_action.setToolTip("While paused: advance one minute bar")
        self.step_action.triggered.connect(self._step)
        self.step_action.setEnabled(False)  # only while paused
        tb.addAction(self.step_action)
        self.speed_box = QComboBox()
        self.speed_box.setToolTip("Replay speed")
        self.speed_box.addItems([f"{s}×" for s in SPEEDS])
        tb.addWidget(QLabel(" Speed "))
        tb.addWidget(self.speed_box)
        self.session_box = QComboBox()
        self.session_box.setToolTip("Real session of this symbol replayed as today")
        self.session_box.setMinimumContentsLength(10)
        self.session_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        tb.addWidget(QLabel(" Session "))
        tb.addWidget(self.session_box)
        tb.addSeparator()
        self.search_box = QLineEditSearch(self)
        tb.addWidget(self.search_box)
        self.symbol_box.currentTextChanged.connect(lambda _t: self._show_current())
        self.interval_box.currentTextChanged.connect(lambda _t: self._show_current())
        self.speed_box.currentIndexChanged.connect(self._speed_changed)
        self.session_box.activated.connect(self._session_chosen)

    def _build_status(self) -> None:
        # A banner above the chart while any data capability is degraded: the trader must not
        # mistake late or fallback data for live data. Shown and hidden by the app only (it is not
        # listed in the toolbar context menu, so it can't be opened empty).
        self.banner = QLabel()
        self.banner.setObjectName("degraded_banner")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("background:#ef6c00; color:white; font-weight:bold; padding:4px;")
        banner_bar = QToolBar("Data health", self)
        banner_bar.setObjectName("banner_toolbar")
        banner_bar.setMovable(False)
        banner_bar.addWidget(self.banner)
        banner_bar.toggleViewAction().setVisible(False)
        self.addToolBarBreak()
        self.addToolBar(banner_bar)
        banner_bar.hide()
        self.banner_bar = banner_bar
        self._degraded: dict[str, FeedStatus] = {}
        self.badge = QLabel()
        self.badge.setObjectName("feed_badge")
        self.status_label = QLabel()
        self.status_label.setObjectName("feed_status")
        self.status_label.setWordWrap(False)
        self.clock_label = QLabel()
        self.clock_label.setObjectName("replay_clock")
        self.clock_label.setToolTip("Replay clock (exchange time): every replayed symbol shares it")
        self.caps_label = QLabel()
        self.caps_label.setObjectName("feed_capabilities")
        self.caps_label.setToolTip("Feed state per capability (with the reason when degraded)")
        self.api_label = QLabel(" API: off ")
        self.api_label.setObjectName("api_status")
        self.statusBar().addWidget(self.badge)
        self.statusBar().addWidget(self.status_label, 1)
        self.statusBar().addPermanentWidget(self.caps_label)
        self.statusBar().addPermanentWidget(self.api_label)
        self.statusBar().addPermanentWidget(self.clock_label)

    def _build_hint(self) -> None:
        """First run on the replay feed: say what to connect — never ask for a key up front."""
        bar = QToolBar("Getting started", self)
        bar.setObjectName("hint_toolbar")
        bar.setMovable(False)
        self.hint = QLabel(" Replay feed: real past sessions replayed as today, setups in play below.  "
                           "Connect your data: Tools → Settings (provider keys).  Connect your GPT: its panel. ")
        self.hint.setObjectName("first_run_hint")
        self.hint.setToolTip(self.hint.text())
        # Clipped rather than widening the window on a small screen (the tooltip has it all).
        self.hint.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.hint.setMinimumWidth(200)
        bar.addWidget(self.hint)
        dismiss = QPushButton("Got it")
        dismiss.clicked.connect(self._dismiss_hint)
        bar.addWidget(dismiss)
        bar.toggleViewAction().setVisible(False)
        self.addToolBarBreak()
        self.addToolBar(bar)
        self.hint_bar = bar
        bar.setVisible(not self.kernel.feeds.vendor_mode and self._qsettings.value("hint_dismissed") != "1")

    def _dismiss_hint(self) -> None:
        self.hint_bar.hide()
        self._qsettings.setValue("hint_dismissed", "1")

    def _build_menus(self) -> None:
        view = self.menuBar().addMenu("&View")
        self.panel_keys: list[tuple[str, str]] = []
        docks = [self.chart_dock, self.predictor_dock, *self.panels.docks.values()]
        for i, dock in enumerate(docks):
            action = dock.toggleViewAction()
            if i < 10:
                keys = f"Ctrl+Shift+{(i + 1) % 10}"
                action.setShortcut(QKeySequence(keys))
                self.panel_keys.append((keys, f"Show/hide {dock.windowTitle()}"))
            view.addAction(action)
        view.addSeparator()
        self.market_toolbar_action = self.findChild(QToolBar, "market_toolbar").toggleViewAction()
        view.addAction(self.market_toolbar_action)
        self._build_chart_menu()
        tools = self.menuBar().addMenu("&Tools")
        for text, keys, slot in (("Scan now", "F5", self.panels.scanner_ctl.scan_now),
                                 ("Capture chart to a new note", "Ctrl+Shift+S", self.capture_to_note),
                                 ("Next watchlist", "Ctrl+]", lambda: self.panels.watchlist.cycle(1)),
                                 ("Previous watchlist", "Ctrl+[", lambda: self.panels.watchlist.cycle(-1)),
                                 ("Settings…", "Ctrl+,", self.open_settings),
                                 ("Keyboard shortcuts", "F1", self.show_shortcuts)):
            action = QAction(text, self)
            action.setShortcut(QKeySequence(keys))
            action.triggered.connect(slot)
            tools.addAction(action)
            self.addAction(action)  # works while any panel has focus
        help_menu = self.menuBar().addMenu("&Help")
        self.diagnostics_action = QAction("Copy diagnostics", self)
        self.diagnostics_action.setToolTip("Versions, feed states, database and the last log lines (no secrets)")
        self.diagnostics_action.triggered.connect(lambda: self._spawn(self.copy_diagnostics(), "diagnostics"))
        help_menu.addAction(self.diagnostics_action)

    def _build_chart_menu(self) -> None:
        """Overlays on/off, drawing tools, an alert at the cursor, a linked second chart, export."""
        menu = self.menuBar().addMenu("&Chart")
        overlays = menu.addMenu("Overlays")
        names = {"zones": "Supply/demand zones", "fvg": "Fair value gaps", "liquidity": "Liquidity pools",
                 "volume_profile": "Volume profile", "levels": "Key levels", "avwap": "Anchored VWAPs"}
        self.overlay_actions: dict[str, QAction] = {}
        for group in OVERLAY_GROUPS:
            action = QAction(names.get(group, group), self, checkable=True)
            action.setChecked(True)
            action.toggled.connect(lambda on, g=group: self.chart.set_overlay_visible(g, on))
            overlays.addAction(action)
            self.overlay_actions[group] = action
        draw = menu.addMenu("Draw")
        for text, tool, keys in (("Horizontal line", "hline", "Alt+H"), ("Trend line", "trend", "Alt+T"),
                                 ("Rectangle", "rect", "Alt+B"), ("Text…", "text", "Alt+X")):
            action = QAction(text, self)
            action.setShortcut(QKeySequence(keys))
            action.triggered.connect(lambda _c=False, t=tool: self._pick_drawing_tool(t))
            draw.addAction(action)
            self.addAction(action)
        stop = QAction("Stop drawing", self)
        stop.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        stop.triggered.connect(lambda: self.chart.set_drawing_tool(None))
        draw.addAction(stop)
        self.addAction(stop)
        alert = QAction("Alert at the cursor's price", self)
        alert.setShortcut(QKeySequence("Alt+A"))
        alert.triggered.connect(lambda: self._spawn(self.controller.alert_at_crosshair(), "alert"))
        menu.addAction(alert)
        self.addAction(alert)
        second = QAction("Second chart (linked)", self)
        second.triggered.connect(lambda: self._spawn(self.open_second_chart(), "second chart"))
        menu.addAction(second)
        export = QAction("Export PNG…", self)
        export.triggered.connect(self._export_png)
        menu.addAction(export)
        self.controller.on_error = lambda field, reason: self._error(f"{field}: {reason}")

    def _pick_drawing_tool(self, tool: str) -> None:
        if tool != "text":
            self.chart.set_drawing_tool(tool)
            return
        text, ok = QInputDialog.getText(self, "Text on the chart", "Text:")
        if ok and text.strip():
            self.chart.set_drawing_tool("text", text.strip())

    async def open_second_chart(self, interval: str = "15m") -> ChartController:
        """A second chart dock for another interval, linked by symbol and crosshair."""
        if self.second_chart is None:
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
        path, _ = QFileDialog.getSaveFileName(self, "Export chart", f"{self.controller.symbol or 'chart'}.png",
                                              "PNG images (*.png)")
        if path:
            saved = self.controller.export_png(path)
            self.statusBar().showMessage(f"Chart saved to {saved}", 8_000)

    def _build_shortcuts(self) -> None:
        scope = Qt.ShortcutContext.WidgetWithChildrenShortcut
        for keys, slot in (("Alt+R", self.chart.reset_view), ("Shift+End", self.chart.scroll_to_realtime)):
            sc = QShortcut(QKeySequence(keys), self.chart, slot)
            sc.setContext(scope)
        QShortcut(QKeySequence("Ctrl+K"), self, self.search_box.start)
        QShortcut(QKeySequence("Ctrl+Right"), self, self._step)
        for i, iv in enumerate(ALL[:9]):
            QShortcut(QKeySequence(f"Alt+{i + 1}"), self, lambda name=iv.name: self._select_interval(name))

    def _select_interval(self, name: str) -> None:
        i = self.interval_box.findText(name)
        if i >= 0:
            self.interval_box.setCurrentIndex(i)  # currentTextChanged → the chart follows

    def shortcut_rows(self) -> list[tuple[str, str]]:
        return [*GENERAL, *self.panel_keys]

    def show_shortcuts(self) -> ShortcutsDialog:
        dialog = ShortcutsDialog(self.shortcut_rows())
        dialog.setParent(self, dialog.windowFlags())
        dialog.show()
        self._shortcuts_dialog = dialog
        return dialog

    def open_settings(self) -> object:
        dialog = self.settings_ctl.open()
        dialog.setParent(self, dialog.windowFlags())
        return dialog

    def _apply_palette(self, theme: str) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.setPalette(app_palette(THEMES[theme]))

    def _theme_changed(self, theme: str) -> None:
        self._apply_palette(theme)
        self.chart.set_theme(THEMES[theme])

    def capture_to_note(self) -> None:
        if self.controller.symbol and self.controller.interval:
            self.panels.notes_ctl.new_from_screenshot(self.controller.symbol, self.controller.interval.name)
            self.panels.docks["notes"].raise_()

    def export_notes(self, note_ids: list[int] | None = None) -> None:
        """The notes panel's export: the given notes (all when none) → Markdown files in a folder."""
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
            spawn(self._show_clock(), name="ui:clock")

    async def _show_clock(self) -> None:
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
        self._show_status(status)
        self._health = dict(await self.call(value(market.health)))
        self._show_caps()
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
        geometry = self._qsettings.value("geometry")
        state = self._qsettings.value("state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
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
        self._spawn(self.call(self.kernel.market.replay_set_speed(float(SPEEDS[index]))), "speed")

    def _session_chosen(self, index: int) -> None:
        day = date.fromisoformat(str(self.session_box.itemData(index)))
        self._spawn(self.call(self.kernel.market.replay_jump(self.symbol_box.currentText(), day)), "session")

    # -- state → view ------------------------------------------------------------------------------
    def _show_caps(self) -> None:
        text = self.panels.feed_text(self._health)
        self.caps_label.setText(f" {text} ")
        self.caps_label.setToolTip(text)

    def _on_feed_health(self, event: FeedHealthChanged) -> None:
        self._health[event.capability] = event.status
        self._show_caps()
        if event.capability in ("bars", "live"):
            self._show_status(event.status)
        if event.status.state in (FeedState.DEGRADED, FeedState.ERROR):
            self._degraded[event.capability] = event.status
        else:
            self._degraded.pop(event.capability, None)
        self._show_banner()

    def _show_banner(self) -> None:
        parts = []
        for cap, st in sorted(self._degraded.items()):
            age = f" (data {st.data_age_s:.0f} s old)" if st.data_age_s is not None else ""
            parts.append(f"{cap}: {st.state.value} — {st.detail or 'no reason given'}{age}")
        self.banner.setText("Degraded data · " + " · ".join(parts) if parts else "")
        self.banner_bar.setVisible(bool(parts))

    def _show_status(self, st: FeedStatus) -> None:
        color = STATE_COLORS.get(st.state, "#455a64")
        self.badge.setText(f" {st.state.value.upper()} ")
        self.badge.setStyleSheet(f"background:{color}; color:white; font-weight:bold; border-radius:3px;")
        text = f"Feed: {st.source} · {st.detail}"
        self.status_label.setText(text)
        self.status_label.setToolTip(text)  # the full text when a narrow window cuts it
        if st.state in (FeedState.PAUSED, FeedState.REPLAY, FeedState.FINISHED):
            self._set_paused(st.state == FeedState.PAUSED)

    def closeEvent(self, event: QCloseEvent) -> None:
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


class QLineEditSearch(QLineEdit):
    """Type-to-search a symbol (Ctrl+K): Enter opens it on the chart."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__()
        self._window = window
        self.setPlaceholderText("Symbol search (Ctrl+K)")
        self.setMaximumWidth(180)
        self.returnPressed.connect(self._go)

    def start(self) -> None:
        self.setFocus()
        self.selectAll()

    def _go(self) -> None:
        text = self.text().strip().upper()
        if text:
            self._window.show_symbol(text)
            self.clear()
