"""The main window: a dockable live chart of the current feed, symbol/interval selectors,
replay controls and a status bar that always names the feed and its state.

GUI thread only: kernel calls go through `kernel.runtime.wrap` (the kernel's loop thread), kernel
events arrive through the Qt bridge. Errors of user actions are shown in the status bar and in a
non-modal message — never a modal dialog opened inside a coroutine."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import date
from typing import Any, TypeVar

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QComboBox, QDockWidget, QLabel, QMainWindow, QMessageBox, QToolBar, QWidget

from app.chart_controller import ChartController
from app.predictor_controller import PredictorController
from app.qt_bridge import QtBridge
from core.config import config_dir
from core.errors import TradeCoachError
from core.events import FeedHealthChanged, FeedState, FeedStatus
from core.market.intervals import ALL
from core.tasks import spawn
from core.workstation import Workstation
from widgets.chart import ChartWidget
from widgets.predictor_panel import PredictorPanel
from widgets.theme import THEMES

log = logging.getLogger(__name__)
T = TypeVar("T")

SPEEDS = (1, 2, 5, 10, 30, 60, 120, 300, 600, 1000)
STATE_COLORS = {
    FeedState.LIVE: "#2e7d32", FeedState.REPLAY: "#1565c0", FeedState.PAUSED: "#6d4c41",
    FeedState.DEGRADED: "#ef6c00", FeedState.FINISHED: "#546e7a", FeedState.ERROR: "#c62828",
}


async def _sync(fn: Callable[[], T]) -> T:
    return fn()


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
        self.controller = ChartController(kernel, self.chart)
        self._paused = False
        self._last_error: QMessageBox | None = None
        self._build_docks()
        self._build_toolbar()
        self._build_status()
        self._build_menus()
        self.bridge.bar_updated.connect(self.controller.on_bar)
        self.bridge.bar_closed.connect(self.controller.on_bar)
        self.bridge.series_reset.connect(self.controller.on_reset)
        self.bridge.feed_health.connect(self._on_feed_health)
        self.bridge.bar_updated.connect(self._on_live_bar)
        self.predictor = PredictorController(kernel, self.predictor_panel, lambda: self.controller.symbol or "SPY")
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
        spawn(coro, name=f"ui:{what}", on_error=self._on_action_error)

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
        pdock.setWidget(self.predictor_panel)
        self.addDockWidget(Qt.DockWidgetArea.TopDockWidgetArea, pdock)
        self.splitDockWidget(dock, pdock, Qt.Orientation.Horizontal)
        self.resizeDocks([dock, pdock], [930, 330], Qt.Orientation.Horizontal)
        self.predictor_dock = pdock

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
        self.statusBar().addWidget(self.badge)
        self.statusBar().addWidget(self.status_label, 1)
        self.statusBar().addPermanentWidget(self.clock_label)

    def _build_menus(self) -> None:
        view = self.menuBar().addMenu("&View")
        for dock in (self.chart_dock, self.predictor_dock):
            view.addAction(dock.toggleViewAction())
        view.addSeparator()
        self.market_toolbar_action = self.findChild(QToolBar, "market_toolbar").toggleViewAction()
        view.addAction(self.market_toolbar_action)

    def _build_shortcuts(self) -> None:
        scope = Qt.ShortcutContext.WidgetWithChildrenShortcut
        for keys, slot in (("Alt+R", self.chart.reset_view), ("Shift+End", self.chart.scroll_to_realtime)):
            sc = QShortcut(QKeySequence(keys), self.chart, slot)
            sc.setContext(scope)

    def _tick_clock(self) -> None:
        if self.kernel.runtime.running and not self.closed.is_set():
            spawn(self._show_clock(), name="ui:clock")

    async def _show_clock(self) -> None:
        text = await self.call(_sync(self.kernel.market.replay_clock_text))
        self.clock_label.setText(f" {text} ")

    def _on_live_bar(self, event: object) -> None:
        bars = self.controller.bars
        if self.controller.symbol and len(bars):
            self.predictor_panel.set_context(self.controller.symbol, float(bars.close[-1]))

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
        await self._show(self.symbol_box.currentText(), self.interval_box.currentText())

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
    def _on_feed_health(self, event: FeedHealthChanged) -> None:
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
        self.save_layout()
        self.controller.close()
        self.bridge.close()
        self.closed.set()
        super().closeEvent(event)
