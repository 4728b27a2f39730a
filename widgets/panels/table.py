"""A sortable, read-only table whose numeric columns sort by value (not as text)."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

Cell = str | float | int | None


class _Item(QTableWidgetItem):
    # What the item shows — (text, value, colour, key) — kept on the Python side, so an update
    # compares tuples instead of calling into Qt for every cell.
    state: tuple[str, Cell, str | None, object] | None = None

    def show(self, state: tuple[str, Cell, str | None, object]) -> None:
        text, value, color, key = state
        old = self.state
        if old is None or old[0] != text:
            self.setText(text)
        if old is None or old[1] != value or type(old[1]) is not type(value):
            self.setData(Qt.ItemDataRole.UserRole, value)
        if old is None or old[2] != color:
            self.setData(Qt.ItemDataRole.ForegroundRole, QColor(color) if color else None)
        if old is None or old[3] != key:
            self.setData(Qt.ItemDataRole.UserRole + 1, key)
        self.state = state

    def __lt__(self, other: QTableWidgetItem) -> bool:
        a, b = self.data(Qt.ItemDataRole.UserRole), other.data(Qt.ItemDataRole.UserRole)
        if isinstance(a, int | float) and isinstance(b, int | float):
            return a < b
        if isinstance(a, int | float) != isinstance(b, int | float):
            return isinstance(a, int | float)  # blanks sort after numbers
        return self.text().lower() < other.text().lower()  # (the base __lt__ would call back here)


def fmt(value: Cell, digits: int = 2) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


class DataTable(QTableWidget):
    def __init__(self, headers: Sequence[str]) -> None:
        super().__init__(0, len(headers))
        self.setHorizontalHeaderLabels(list(headers))
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.verticalHeader().setVisible(False)
        # Sized once on the first rows, not on every update (ResizeToContents measures every cell
        # each time the table changes: a GUI-thread cost on every scanner refresh).
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self._sized = False
        self.horizontalHeader().setStretchLastSection(True)
        self.setSortingEnabled(True)
        self.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # the source order until a click

    def set_rows(self, rows: Sequence[Sequence[Cell]], keys: Sequence[object] | None = None,
                 colors: Sequence[Sequence[str | None]] | None = None) -> int:
        """Show these rows; `keys` ride on column 0 (Qt.UserRole + 1) so a sorted row still names
        what it shows; `colors` give a text colour per cell (None: the theme's). Cells are updated
        in place and only where they changed: a live rescan changes a few cells of a table of ~100
        rows, and rebuilding every item each time was tens of ms on the GUI thread. Returns the
        number of cells written."""
        sorting = self.isSortingEnabled()
        self.setSortingEnabled(False)  # writing into a sorted table scrambles rows
        if self.rowCount() != len(rows):
            self.setRowCount(len(rows))
        written = 0
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                state = (fmt(value), value, colors[r][c] if colors is not None else None,
                         keys[r] if c == 0 and keys is not None else None)
                item = self.item(r, c)
                if isinstance(item, _Item):
                    if item.state == state:
                        continue
                    item.show(state)
                else:
                    item = _Item(state[0])
                    item.show(state)
                    self.setItem(r, c, item)
                written += 1
        self.setSortingEnabled(sorting)
        if rows and not self._sized:
            self._sized = True
            self.resizeColumnsToContents()
        return written

    def key_at(self, row: int) -> object:
        item = self.item(row, 0)
        return item.data(Qt.ItemDataRole.UserRole + 1) if item is not None else None

    def column_values(self, column: int) -> list[str]:
        return [self.item(r, column).text() for r in range(self.rowCount())]
