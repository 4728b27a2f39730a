"""The window's controls: the market toolbar, the first-run hint, the menus and the keyboard
shortcuts. Built by `MainWindow.attach` once the kernel is up (in the manner of a Designer
`setupUi`): importing this module — and the Qt widget types it uses — is left out of the frame
that shows at start-up (app/gui.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QPushButton, QSizePolicy, QToolBar

from core.market.intervals import ALL

if TYPE_CHECKING:
    from app.main_window import MainWindow

# Replay speeds offered in the toolbar (× real time).
SPEEDS = (1, 2, 5, 10, 30, 60, 120, 300, 600, 1000)


def build_toolbar(window: MainWindow) -> None:
    tb = QToolBar("Market", window)
    tb.setObjectName("market_toolbar")
    tb.setMovable(False)
    window.addToolBar(tb)
    window.symbol_box = QComboBox()
    window.symbol_box.setToolTip("Symbol")
    window.interval_box = QComboBox()
    window.interval_box.setToolTip("Interval")
    window.interval_box.addItems([iv.name for iv in ALL])
    tb.addWidget(QLabel(" Symbol "))
    tb.addWidget(window.symbol_box)
    tb.addWidget(QLabel(" Interval "))
    tb.addWidget(window.interval_box)
    tb.addSeparator()
    window.play_action = QAction("Pause", window)
    window.play_action.setToolTip("Pause or resume the replay (Space)")
    window.play_action.setShortcut(QKeySequence(Qt.Key.Key_Space))
    window.play_action.triggered.connect(window._toggle_play)
    tb.addAction(window.play_action)
    # Both labels take the same width so the boxes after the button never shift.
    button = tb.widgetForAction(window.play_action)
    if button is not None:
        button.setMinimumWidth(button.fontMetrics().horizontalAdvance("Pause") + 24)
    window.step_action = QAction("Step", window)
    window.step_action.setToolTip("While paused: advance one minute bar")
    window.step_action.triggered.connect(window._step)
    window.step_action.setEnabled(False)  # only while paused
    tb.addAction(window.step_action)
    window.speed_box = QComboBox()
    window.speed_box.setToolTip("Replay speed")
    window.speed_box.addItems([f"{s}×" for s in SPEEDS])
    tb.addWidget(QLabel(" Speed "))
    tb.addWidget(window.speed_box)
    window.session_box = QComboBox()
    window.session_box.setToolTip("Real session of this symbol replayed as today")
    window.session_box.setMinimumContentsLength(10)
    window.session_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    tb.addWidget(QLabel(" Session "))
    tb.addWidget(window.session_box)
    tb.addSeparator()
    window.search_box = QLineEditSearch(window)
    tb.addWidget(window.search_box)
    window.symbol_box.currentTextChanged.connect(lambda _t: window._show_current())
    window.interval_box.currentTextChanged.connect(lambda _t: window._show_current())
    window.speed_box.currentIndexChanged.connect(window._speed_changed)
    window.session_box.activated.connect(window._session_chosen)



def build_hint(window: MainWindow) -> None:
    """First run on the replay feed: say what to connect — never ask for a key up front."""
    bar = QToolBar("Getting started", window)
    bar.setObjectName("hint_toolbar")
    bar.setMovable(False)
    window.hint = QLabel(" Replay feed: real past sessions replayed as today, setups in play below.  "
                       "Connect your data: Tools → Settings (provider keys).  Connect your GPT: its panel. ")
    window.hint.setObjectName("first_run_hint")
    window.hint.setToolTip(window.hint.text())
    # Clipped rather than widening the window on a small screen (the tooltip has it all).
    window.hint.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
    window.hint.setMinimumWidth(200)
    bar.addWidget(window.hint)
    dismiss = QPushButton("Got it")
    dismiss.clicked.connect(window._dismiss_hint)
    bar.addWidget(dismiss)
    bar.toggleViewAction().setVisible(False)
    window.addToolBarBreak()
    window.addToolBar(bar)
    window.hint_bar = bar
    bar.setVisible(not window.kernel.feeds.vendor_mode and window._qsettings.value("hint_dismissed") != "1")



def build_menus(window: MainWindow) -> None:
    view = window.menuBar().addMenu("&View")
    window.panel_keys = []
    docks = [window.chart_dock, window.predictor_dock, *window.panels.docks.values()]
    for i, dock in enumerate(docks):
        action = dock.toggleViewAction()
        if i < 10:
            keys = f"Ctrl+Shift+{(i + 1) % 10}"
            action.setShortcut(QKeySequence(keys))
            window.panel_keys.append((keys, f"Show/hide {dock.windowTitle()}"))
        view.addAction(action)
    view.addSeparator()
    window.market_toolbar_action = window.findChild(QToolBar, "market_toolbar").toggleViewAction()
    view.addAction(window.market_toolbar_action)
    build_chart_menu(window)
    tools = window.menuBar().addMenu("&Tools")
    for text, keys, slot in (("Scan now", "F5", window.panels.scanner_ctl.scan_now),
                             ("Capture chart to a new note", "Ctrl+Shift+S", window.capture_to_note),
                             ("Next watchlist", "Ctrl+]", lambda: window.panels.watchlist.cycle(1)),
                             ("Previous watchlist", "Ctrl+[", lambda: window.panels.watchlist.cycle(-1)),
                             ("Settings…", "Ctrl+,", window.open_settings),
                             ("Keyboard shortcuts", "F1", window.show_shortcuts)):
        action = QAction(text, window)
        action.setShortcut(QKeySequence(keys))
        action.triggered.connect(slot)
        tools.addAction(action)
        window.addAction(action)  # works while any panel has focus
    help_menu = window.menuBar().addMenu("&Help")
    window.diagnostics_action = QAction("Copy diagnostics", window)
    window.diagnostics_action.setToolTip("Versions, feed states, database and the last log lines (no secrets)")
    window.diagnostics_action.triggered.connect(lambda: window._spawn(window.copy_diagnostics(), "diagnostics"))
    help_menu.addAction(window.diagnostics_action)


def build_chart_menu(window: MainWindow) -> None:
    """Overlays on/off, drawing tools, an alert at the cursor, a linked second chart, export."""
    from widgets.chart import OVERLAY_GROUPS

    menu = window.menuBar().addMenu("&Chart")
    overlays = menu.addMenu("Overlays")
    names = {"zones": "Supply/demand zones", "fvg": "Fair value gaps", "liquidity": "Liquidity pools",
             "volume_profile": "Volume profile", "levels": "Key levels", "avwap": "Anchored VWAPs"}
    window.overlay_actions = {}
    for group in OVERLAY_GROUPS:
        action = QAction(names.get(group, group), window, checkable=True)
        action.setChecked(True)
        action.toggled.connect(lambda on, g=group: window.chart.set_overlay_visible(g, on))
        overlays.addAction(action)
        window.overlay_actions[group] = action
    draw = menu.addMenu("Draw")
    for text, tool, keys in (("Horizontal line", "hline", "Alt+H"), ("Trend line", "trend", "Alt+T"),
                             ("Rectangle", "rect", "Alt+B"), ("Text…", "text", "Alt+X")):
        action = QAction(text, window)
        action.setShortcut(QKeySequence(keys))
        action.triggered.connect(lambda _c=False, t=tool: window._pick_drawing_tool(t))
        draw.addAction(action)
        window.addAction(action)
    stop = QAction("Stop drawing", window)
    stop.setShortcut(QKeySequence(Qt.Key.Key_Escape))
    stop.triggered.connect(lambda: window.chart.set_drawing_tool(None))
    draw.addAction(stop)
    window.addAction(stop)
    alert = QAction("Alert at the cursor's price", window)
    alert.setShortcut(QKeySequence("Alt+A"))
    alert.triggered.connect(lambda: window._spawn(window.controller.alert_at_crosshair(), "alert"))
    menu.addAction(alert)
    window.addAction(alert)
    second = QAction("Second chart (linked)", window)
    second.triggered.connect(lambda: window._spawn(window.open_second_chart(), "second chart"))
    menu.addAction(second)
    export = QAction("Export PNG…", window)
    export.triggered.connect(window._export_png)
    menu.addAction(export)
    window.controller.on_error = lambda field, reason: window._error(f"{field}: {reason}")



def build_shortcuts(window: MainWindow) -> None:
    scope = Qt.ShortcutContext.WidgetWithChildrenShortcut
    for keys, slot in (("Alt+R", window.chart.reset_view), ("Shift+End", window.chart.scroll_to_realtime)):
        sc = QShortcut(QKeySequence(keys), window.chart, slot)
        sc.setContext(scope)
    QShortcut(QKeySequence("Ctrl+K"), window, window.search_box.start)
    QShortcut(QKeySequence("Ctrl+Right"), window, window._step)
    for i, iv in enumerate(ALL[:9]):
        QShortcut(QKeySequence(f"Alt+{i + 1}"), window, lambda name=iv.name: window._select_interval(name))


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
