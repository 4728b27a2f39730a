"""The main window: a dockable live chart of the current feed, symbol/interval selectors,
replay controls and a status bar that always names the feed and its state."""

from __future__ import annotations

import asyncio
import logging
from datetime import date

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import QComboBox, QDockWidget, QLabel, QMainWindow, QMessageBox, QToolBar, QWidget

from app.chart_controller import ChartController
from app.predictor_controller import PredictorController
from app.qt_bridge import QtBridge
from core.errors import TradeCoachError
from core.events import FeedHealthChanged, FeedState, FeedStatus
from core.market.intervals import ALL
from core.workstation import Workstation
from widgets.chart import ChartWidget
from widgets.predictor_panel import PredictorPanel
from widgets.theme import THEMES

log = logging.getLogger(__name__)

SPEEDS = (1, 2, 5, 10, 30, 60, 120, 300, 600, 1000)
STATE_COLORS = {
    FeedState.LIVE: "#2e7d32", FeedState.REPLAY: "#1565c0", FeedState.PAUSED: "#6d4c41",
    FeedState.DEGRADED: "#ef6c00", FeedState.FINISHED: "#546e7a", FeedState.ERROR: "#c62828",
}


class MainWindow(QMainWindow):
    def __init__(self, kernel: Workstation) -> None:
        super().__init__()
        self.kernel = kernel
        self.closed = asyncio.Event()
        self.setWindowTitle("Trading Coach Workstation")
        self.resize(1280, 800)
        self.bridge = QtBridge(kernel.bus)
        self.chart = ChartWidget(theme=THEMES[kernel.settings.theme])
        self.controller = ChartController(kernel, self.chart)
        self._tasks: set[asyncio.Task[None]] = set()
        self._build_docks()
        self._build_toolbar()
        self._build_status()
        self.bridge.bar_updated.connect(self.controller.on_bar)
        self.bridge.bar_closed.connect(self.controller.on_bar)
        self.bridge.series_reset.connect(self.controller.on_reset)
        self.bridge.feed_health.connect(self._on_feed_health)
        self.predictor = PredictorController(kernel, self.predictor_panel, lambda: self.controller.symbol or "SPY")
        self.bridge.job_progress.connect(self.predictor.on_job_progress)

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
        self.symbol_box.addItems(self.kernel.symbols())
        self.interval_box = QComboBox()
        self.interval_box.setToolTip("Interval")
        self.interval_box.addItems([iv.name for iv in ALL])
        tb.addWidget(QLabel(" Symbol "))
        tb.addWidget(self.symbol_box)
        tb.addWidget(QLabel(" Interval "))
        tb.addWidget(self.interval_box)
        tb.addSeparator()
        self.play_action = QAction("Pause", self)
        self.play_action.setToolTip("Pause or resume the replay")
        self.play_action.triggered.connect(self._toggle_play)
        tb.addAction(self.play_action)
        self.step_action = QAction("Step", self)
        self.step_action.setToolTip("While paused: advance one minute bar")
        self.step_action.triggered.connect(self._step)
        tb.addAction(self.step_action)
        self.speed_box = QComboBox()
        self.speed_box.setToolTip("Replay speed")
        self.speed_box.addItems([f"{s}×" for s in SPEEDS])
        tb.addWidget(QLabel(" Speed "))
        tb.addWidget(self.speed_box)
        self.session_box = QComboBox()
        self.session_box.setToolTip("Real session replayed as today")
        self.session_box.setMinimumContentsLength(10)
        self.session_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        tb.addWidget(QLabel(" Session "))
        tb.addWidget(self.session_box)
        self.symbol_box.currentTextChanged.connect(lambda _t: self._show_current())
        self.interval_box.currentTextChanged.connect(lambda _t: self._show_current())
        self.speed_box.currentIndexChanged.connect(self._speed_changed)
        self.session_box.activated.connect(self._session_chosen)

    def _build_status(self) -> None:
        # A banner above the chart while any data capability is degraded: the trader must not
        # mistake late or fallback data for live data.
        self.banner = QLabel()
        self.banner.setObjectName("degraded_banner")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("background:#ef6c00; color:white; font-weight:bold; padding:4px;")
        banner_bar = QToolBar("Data health", self)
        banner_bar.setObjectName("banner_toolbar")
        banner_bar.setMovable(False)
        banner_bar.addWidget(self.banner)
        self.addToolBarBreak()
        self.addToolBar(banner_bar)
        banner_bar.hide()
        self.banner_bar = banner_bar
        self._degraded: dict[str, FeedStatus] = {}
        self.badge = QLabel()
        self.badge.setObjectName("feed_badge")
        self.status_label = QLabel()
        self.status_label.setObjectName("feed_status")
        self.statusBar().addWidget(self.badge)
        self.statusBar().addWidget(self.status_label, 1)
        self._show_status(self.kernel.feed_status())

    # -- startup -----------------------------------------------------------------------------------
    async def open_initial(self, symbol: str, interval: str) -> None:
        self._select(self.symbol_box, symbol)
        self._select(self.interval_box, interval)
        self._select(self.speed_box, f"{self.kernel.replay_clock.speed:g}×")
        await self._show(self.symbol_box.currentText(), self.interval_box.currentText())

    @staticmethod
    def _select(box: QComboBox, text: str) -> None:
        i = box.findText(text)
        if i >= 0:
            box.blockSignals(True)
            box.setCurrentIndex(i)
            box.blockSignals(False)

    # -- user intent → kernel ------------------------------------------------------------------------
    def _spawn(self, coro) -> None:  # type: ignore[no-untyped-def]
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            log.error("action failed", exc_info=exc)
            self._error(str(exc))

    def _error(self, text: str) -> None:
        self.statusBar().showMessage(text, 10_000)
        if isinstance(text, str) and self.isVisible():
            QMessageBox.warning(self, "Trading Coach", text)

    def _show_current(self) -> None:
        self._spawn(self._show(self.symbol_box.currentText(), self.interval_box.currentText()))

    async def _show(self, symbol: str, interval: str) -> None:
        await self.controller.show(symbol, interval)
        self._refresh_sessions(symbol)

    def _refresh_sessions(self, symbol: str) -> None:
        self.session_box.blockSignals(True)
        self.session_box.clear()
        days = self.kernel.replay_sessions(symbol)
        self.session_box.addItems([d.isoformat() for d in days])
        current = self.kernel.feed_status().extra.get("real_session")
        if current:
            self.session_box.setCurrentText(current)
        self.session_box.blockSignals(False)

    def _toggle_play(self) -> None:
        if self.kernel.replay_clock.paused:
            self.kernel.replay_resume()
        else:
            self.kernel.replay_pause()
        self.play_action.setText("Play" if self.kernel.replay_clock.paused else "Pause")

    def _step(self) -> None:
        try:
            self.kernel.replay_step(self.symbol_box.currentText())
        except TradeCoachError as exc:
            self._error(str(exc))

    def _speed_changed(self, index: int) -> None:
        self.kernel.replay_set_speed(float(SPEEDS[index]))

    def _session_chosen(self, index: int) -> None:
        text = self.session_box.itemText(index)
        try:
            self.kernel.replay_jump(self.symbol_box.currentText(), date.fromisoformat(text))
        except TradeCoachError as exc:
            self._error(str(exc))

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
            parts.append(f"{cap}: {st.state.value} — {st.detail}{age}")
        self.banner.setText("Degraded data · " + " · ".join(parts))
        self.banner_bar.setVisible(bool(parts))

    def _show_status(self, st: FeedStatus) -> None:
        color = STATE_COLORS.get(st.state, "#455a64")
        self.badge.setText(f" {st.state.value.upper()} ")
        self.badge.setStyleSheet(f"background:{color}; color:white; font-weight:bold; border-radius:3px;")
        self.status_label.setText(f"Feed: {st.source} · {st.detail}")
        self.play_action.setText("Play" if self.kernel.replay_clock.paused else "Pause")

    def closeEvent(self, event: QCloseEvent) -> None:
        self.bridge.close()
        self.closed.set()
        super().closeEvent(event)
