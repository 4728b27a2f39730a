"""Watchlist: several named lists; per symbol the last price, change %, session phase and the best
setup state. Add, remove and reorder emit intent; the controller stores the lists."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QInputDialog, QLineEdit, QPushButton, QVBoxLayout, QWidget

from widgets.panels.table import DataTable
from widgets.theme import DARK, Theme, change_color

HEADERS = ("Symbol", "Last", "Chg %", "Phase", "Best setup")


@dataclass(frozen=True, slots=True)
class WatchRow:
    symbol: str
    last: float | None = None
    change_pct: float | None = None
    phase: str = ""
    best_setup: str = ""


class WatchlistPanel(QWidget):
    list_selected = Signal(str)
    list_created = Signal(str)
    symbol_added = Signal(str)
    symbol_removed = Signal(str)
    symbol_moved = Signal(str, int)   # symbol, -1 up / +1 down
    symbol_activated = Signal(str)

    def __init__(self, theme: Theme = DARK) -> None:
        super().__init__()
        self._theme = theme
        self.lists = QComboBox()
        self.lists.setMinimumContentsLength(6)
        self.lists.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.lists.setToolTip("Watchlist (Ctrl+] / Ctrl+[ to cycle)")
        new_list = QPushButton("+")
        new_list.setToolTip("New watchlist")
        new_list.setMaximumWidth(32)
        new_list.clicked.connect(self._ask_new_list)
        top = QHBoxLayout()
        top.addWidget(self.lists, 1)
        top.addWidget(new_list)
        self.table = DataTable(HEADERS)
        self.table.setSortingEnabled(False)  # the trader's order is the order
        self.add_box = QLineEdit()
        self.add_box.setPlaceholderText("Add symbol…")
        self.add_box.returnPressed.connect(self._add)
        row = QHBoxLayout()
        row.addWidget(self.add_box, 1)
        for text, tip, slot in (("✕", "Remove the selected symbol", self._remove),
                                ("▲", "Move up", lambda: self._move(-1)), ("▼", "Move down", lambda: self._move(1))):
            b = QPushButton(text)
            b.setToolTip(tip)
            b.setMaximumWidth(32)
            b.clicked.connect(slot)
            row.addWidget(b)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addLayout(top)
        lay.addWidget(self.table, 1)
        lay.addLayout(row)
        self.lists.activated.connect(lambda i: self.list_selected.emit(self.lists.itemText(i)))
        self.table.cellDoubleClicked.connect(lambda r, _c: self._activate(r))

    # -- render --------------------------------------------------------------------------------
    def set_lists(self, names: list[str], current: str) -> None:
        self.lists.blockSignals(True)
        self.lists.clear()
        self.lists.addItems(names)
        self.lists.setCurrentIndex(max(0, names.index(current)) if current in names else 0)
        self.lists.blockSignals(False)

    def set_rows(self, rows: list[WatchRow]) -> None:
        selected = self.selected_symbol()
        self.table.set_rows(
            [(r.symbol, r.last, r.change_pct, r.phase, r.best_setup) for r in rows], keys=[r.symbol for r in rows],
            colors=[(None, None, change_color(self._theme, r.change_pct), None, None) for r in rows])
        for i, r in enumerate(rows):
            if r.symbol == selected:
                self.table.selectRow(i)

    def symbols(self) -> list[str]:
        return [str(self.table.key_at(r)) for r in range(self.table.rowCount())]

    def selected_symbol(self) -> str | None:
        row = self.table.currentRow()
        key = self.table.key_at(row) if row >= 0 else None
        return str(key) if key else None

    def current_list(self) -> str:
        return self.lists.currentText()

    def cycle(self, step: int) -> None:
        n = self.lists.count()
        if n:
            self.lists.setCurrentIndex((self.lists.currentIndex() + step) % n)
            self.list_selected.emit(self.lists.currentText())

    # -- intent ----------------------------------------------------------------------------------
    def _ask_new_list(self) -> None:
        name, ok = QInputDialog.getText(self, "New watchlist", "Name:")
        if ok and name.strip():
            self.list_created.emit(name.strip())

    def _add(self) -> None:
        text = self.add_box.text().strip().upper()
        if text:
            self.add_box.clear()
            self.symbol_added.emit(text)

    def _remove(self) -> None:
        sym = self.selected_symbol()
        if sym:
            self.symbol_removed.emit(sym)

    def _move(self, step: int) -> None:
        sym = self.selected_symbol()
        if sym:
            self.symbol_moved.emit(sym, step)

    def _activate(self, row: int) -> None:
        key = self.table.key_at(row)
        if key:
            self.symbol_activated.emit(str(key))
