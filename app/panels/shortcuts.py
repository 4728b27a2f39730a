"""The keyboard map: one table drives both the QShortcuts/actions and the Shortcuts dialog."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QVBoxLayout

from widgets.panels.table import DataTable

# (keys, what it does) — the dialog lists exactly these.
GENERAL: tuple[tuple[str, str], ...] = (
    ("Ctrl+K", "Symbol search (type to search, Enter to open)"),
    ("Alt+1 … Alt+7", "Interval: 1m 5m 15m 30m 1h 4h 1D"),
    ("F5", "Scan the watchlist now"),
    ("Ctrl+Shift+S", "Capture the chart and start a note with it"),
    ("Space", "Replay play/pause"),
    ("Ctrl+Right", "Replay: step one bar (while paused)"),
    ("Ctrl+]  /  Ctrl+[", "Next / previous watchlist"),
    ("Ctrl+,", "Settings"),
    ("F1", "This list"),
    ("Alt+R / Shift+End", "Chart: reset view / back to the latest bar"),
)


class ShortcutsDialog(QDialog):
    def __init__(self, rows: list[tuple[str, str]]) -> None:
        super().__init__()
        self.setWindowTitle("Keyboard shortcuts")
        self.table = DataTable(("Keys", "Action"))
        self.table.setSortingEnabled(False)
        self.table.set_rows(rows)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.table)
        lay.addWidget(buttons)
        self.resize(520, 420)
