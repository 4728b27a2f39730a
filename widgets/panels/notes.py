"""Notes: a list filtered by symbol or text, an editor (title, symbol, Markdown) with a rendered
preview, autosave while typing (a short debounce, well under a second), new/delete/export."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

AUTOSAVE_MS = 300  # typing pauses this long → saved; so nothing typed a second before a crash is lost


@dataclass(frozen=True, slots=True)
class NoteView:
    note_id: int
    title: str
    symbol: str
    content: str
    updated: str = ""


class NotesPanel(QWidget):
    new_requested = Signal()
    delete_requested = Signal(int)
    save_requested = Signal(int, str, str, str)   # note id, title, symbol, content
    note_selected = Signal(int)
    filter_changed = Signal(str, str)             # symbol, search text
    export_requested = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._current: int | None = None
        self._loading = False
        self._dirty = False
        self.symbol_filter = QLineEdit()
        self.symbol_filter.setPlaceholderText("Symbol")
        self.symbol_filter.setMaximumWidth(64)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search notes…")
        self.search.setMinimumWidth(60)
        for box in (self.symbol_filter, self.search):
            box.textChanged.connect(lambda _t: self.filter_changed.emit(self.symbol_filter.text().strip().upper(),
                                                                         self.search.text().strip()))
        top = QHBoxLayout()
        top.addWidget(self.symbol_filter)
        top.addWidget(self.search, 1)
        for text, slot in (("New", self.new_requested.emit), ("Delete", self._delete),
                           ("Export…", self.export_requested.emit)):
            b = QPushButton(text)
            b.clicked.connect(slot)
            top.addWidget(b)
        self.list = QListWidget()
        self.list.currentItemChanged.connect(self._picked)
        self.title = QLineEdit()
        self.title.setPlaceholderText("Title")
        self.symbol = QLineEdit()
        self.symbol.setPlaceholderText("Symbol")
        self.symbol.setMaximumWidth(80)
        self.editor = QPlainTextEdit()
        self.editor.setPlaceholderText("Markdown…")
        self.preview = QTextBrowser()
        self.status = QLabel("")
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.symbol)
        edit = QWidget()
        el = QVBoxLayout(edit)
        el.setContentsMargins(0, 0, 0, 0)
        el.addLayout(head)
        body = QSplitter(Qt.Orientation.Vertical)
        body.addWidget(self.editor)
        body.addWidget(self.preview)
        el.addWidget(body, 1)
        el.addWidget(self.status)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.list)
        split.addWidget(edit)
        split.setSizes([160, 400])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addLayout(top)
        lay.addWidget(split, 1)
        self._autosave = QTimer(self)
        self._autosave.setSingleShot(True)
        self._autosave.setInterval(AUTOSAVE_MS)
        self._autosave.timeout.connect(self.flush)
        for w in (self.title, self.symbol):
            w.textEdited.connect(self._typed)
        self.editor.textChanged.connect(self._typed)
        self._set_editable(False)

    # -- render ----------------------------------------------------------------------------------
    def set_notes(self, notes: list[NoteView]) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for n in notes:
            item = QListWidgetItem(f"{n.title or '(untitled)'}" + (f" · {n.symbol}" if n.symbol else ""))
            item.setData(Qt.ItemDataRole.UserRole, n.note_id)
            item.setToolTip(n.updated)
            self.list.addItem(item)
            if n.note_id == self._current:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)

    def show_note(self, note: NoteView | None) -> None:
        """Load a note into the editor (None clears it). Unsaved typing of the previous note is
        saved first."""
        self.flush()
        self._loading = True
        self._current = note.note_id if note else None
        self.title.setText(note.title if note else "")
        self.symbol.setText(note.symbol if note else "")
        self.editor.setPlainText(note.content if note else "")
        self.preview.setMarkdown(note.content if note else "")
        self._loading = False
        self._set_editable(note is not None)
        self.status.setText(f"Saved {note.updated}" if note and note.updated else "")

    def current_id(self) -> int | None:
        return self._current

    def is_dirty(self) -> bool:
        return self._dirty

    def mark_saved(self, when: str) -> None:
        self.status.setText(f"Saved {when}")

    # -- intent ----------------------------------------------------------------------------------
    def _set_editable(self, on: bool) -> None:
        for w in (self.title, self.symbol, self.editor):
            w.setEnabled(on)

    def _typed(self, *_args: object) -> None:
        if self._loading or self._current is None:
            return
        self.preview.setMarkdown(self.editor.toPlainText())
        self.status.setText("Editing…")
        self._dirty = True
        self._autosave.start()

    def flush(self) -> None:
        """Save now what was typed (the autosave timer, switching notes, closing the window)."""
        self._autosave.stop()
        if self._current is None or not self._dirty:
            return
        self._dirty = False
        self.save_requested.emit(self._current, self.title.text(), self.symbol.text().strip().upper(),
                                 self.editor.toPlainText())

    def _picked(self, item: QListWidgetItem | None, _prev: object) -> None:
        if item is not None:
            self.note_selected.emit(int(item.data(Qt.ItemDataRole.UserRole)))

    def _delete(self) -> None:
        if self._current is not None:
            self._autosave.stop()
            self._dirty = False
            self.delete_requested.emit(self._current)
