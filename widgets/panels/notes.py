"""Notes: a list filtered by symbol, tag and full-text search, an editor (title, symbol, tags,
Markdown) with a rendered preview and the note's link (plan, prediction or capture), autosave while
typing (a short debounce, well under a second), new/delete, export of the selected or all notes."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

AUTOSAVE_MS = 300  # typing pauses this long → saved; so nothing typed a second before a crash is lost
FILTER_MS = 200    # the search box waits for a pause in typing before it asks the database
ALL_TAGS = "All tags"


@dataclass(frozen=True, slots=True)
class NoteView:
    note_id: int
    title: str
    symbol: str
    content: str
    updated: str = ""
    tags: tuple[str, ...] = ()
    link: str = ""          # "plan SPY-orb-1 v2", "prediction 12", "capture 7" or ""
    link_kind: str = ""     # "plan" | "prediction" | "capture" | ""


class NotesPanel(QWidget):
    new_requested = Signal()
    delete_requested = Signal(int)
    save_requested = Signal(int, str, str, str, str)   # note id, title, symbol, tags ("a, b"), content
    note_selected = Signal(int)
    filter_changed = Signal(str, str, str)        # symbol, tag ("" = all), search text
    export_requested = Signal(object)             # list of note ids; [] = every note
    link_requested = Signal(int)                  # open what the note links to (a plan: on the chart)

    def __init__(self) -> None:
        super().__init__()
        self._current: int | None = None
        self._rows: list[tuple[int, str, str]] = []   # what the list shows: (note id, text, tooltip)
        self._loading = False
        self._dirty = False
        self._link_kind = ""
        self.symbol_filter = QLineEdit()
        self.symbol_filter.setPlaceholderText("Symbol")
        self.symbol_filter.setMaximumWidth(64)
        self.tag_filter = QComboBox()
        self.tag_filter.addItem(ALL_TAGS, "")
        self.tag_filter.setToolTip("Show the notes with this tag")
        self.search = QLineEdit()
        self.search.setPlaceholderText('Search: words, "a phrase", prefix*, -word, OR')
        self.search.setMinimumWidth(60)
        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(FILTER_MS)
        self._filter_timer.timeout.connect(self._emit_filter)
        for box in (self.symbol_filter, self.search):
            box.textChanged.connect(lambda _t: self._filter_timer.start())
        self.tag_filter.currentIndexChanged.connect(lambda _i: self._filter_timer.start())
        top = QHBoxLayout()
        top.addWidget(self.symbol_filter)
        top.addWidget(self.tag_filter)
        top.addWidget(self.search, 1)
        for text, slot in (("New", self.new_requested.emit), ("Delete", self._delete)):
            b = QPushButton(text)
            b.clicked.connect(slot)
            top.addWidget(b)
        self.export_button = QPushButton("Export…")
        menu = QMenu(self.export_button)
        self.export_selected_action = menu.addAction("Selected notes to Markdown…", self._export_selected)
        self.export_all_action = menu.addAction("All notes to Markdown…", lambda: self.export_requested.emit([]))
        self.export_button.setMenu(menu)
        top.addWidget(self.export_button)
        self.list = QListWidget()
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)  # export a selection
        self.list.currentItemChanged.connect(self._picked)
        self.list.itemDoubleClicked.connect(
            lambda item: self.link_requested.emit(int(item.data(Qt.ItemDataRole.UserRole))))
        self.title = QLineEdit()
        self.title.setPlaceholderText("Title")
        self.symbol = QLineEdit()
        self.symbol.setPlaceholderText("Symbol")
        self.symbol.setMaximumWidth(80)
        self.tags = QLineEdit()
        self.tags.setPlaceholderText("Tags: orb, fade")
        self.tags.setToolTip("Tags, separated by commas or spaces (letters, digits, _ - . /)")
        self.link = QLabel("")
        self.link.setTextFormat(Qt.TextFormat.RichText)
        self.link.linkActivated.connect(lambda _href: self._open_link())
        self.editor = QPlainTextEdit()
        self.editor.setPlaceholderText("Markdown…")
        self.preview = QTextBrowser()
        self.status = QLabel("")
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.symbol)
        head.addWidget(self.tags)
        edit = QWidget()
        el = QVBoxLayout(edit)
        el.setContentsMargins(0, 0, 0, 0)
        el.addLayout(head)
        el.addWidget(self.link)
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
        for w in (self.title, self.symbol, self.tags):
            w.textEdited.connect(self._typed)
        self.editor.textChanged.connect(self._typed)
        self._set_editable(False)

    # -- render ----------------------------------------------------------------------------------
    def set_notes(self, notes: list[NoteView]) -> None:
        """Show these notes; rows are rewritten in place and only where they changed (every note
        created or saved anywhere refreshes this list: up to 500 new items each time was a
        GUI-thread cost on every note the API wrote)."""
        rows = [(n.note_id, f"{n.title or '(untitled)'}" + (f" · {n.symbol}" if n.symbol else "")
                 + "".join(f" #{t}" for t in n.tags) + (" 🔗" if n.link else ""),
                 n.updated + (f" · {n.link}" if n.link else "")) for n in notes]
        if rows == self._rows:
            return
        self.list.blockSignals(True)
        while self.list.count() > len(rows):
            self.list.takeItem(self.list.count() - 1)
        for i, (note_id, text, tip) in enumerate(rows):
            item = self.list.item(i)
            if item is None:
                item = QListWidgetItem(text)
                self.list.addItem(item)
            elif i < len(self._rows) and self._rows[i] == (note_id, text, tip):
                continue
            item.setText(text)
            item.setData(Qt.ItemDataRole.UserRole, note_id)
            item.setToolTip(tip)
        self._rows = rows
        # As a rebuild did: no selection left over (rows shifted), the open note current.
        self.list.clearSelection()
        current = next((i for i, r in enumerate(rows) if r[0] == self._current), None)
        self.list.setCurrentRow(-1 if current is None else current)
        self.list.blockSignals(False)

    def set_tags(self, tags: list[tuple[str, int]]) -> None:
        """The tag filter's choices (tag, number of notes); the chosen tag stays chosen."""
        chosen = self.tag_filter.currentData() or ""
        self.tag_filter.blockSignals(True)
        self.tag_filter.clear()
        self.tag_filter.addItem(ALL_TAGS, "")
        for tag, count in tags:
            self.tag_filter.addItem(f"#{tag} ({count})", tag)
        index = self.tag_filter.findData(chosen)
        self.tag_filter.setCurrentIndex(max(index, 0))
        self.tag_filter.blockSignals(False)
        if index < 0 and chosen:
            self._filter_timer.start()   # the chosen tag is gone: show every note again

    def show_note(self, note: NoteView | None) -> None:
        """Load a note into the editor (None clears it). Unsaved typing of the previous note is
        saved first."""
        self.flush()
        self._loading = True
        self._current = note.note_id if note else None
        self.title.setText(note.title if note else "")
        self.symbol.setText(note.symbol if note else "")
        self.tags.setText(", ".join(note.tags) if note else "")
        self.editor.setPlainText(note.content if note else "")
        self.preview.setMarkdown(note.content if note else "")
        self.show_link(note)
        self._loading = False
        self._set_editable(note is not None)
        self.status.setText(f"Saved {note.updated}" if note and note.updated else "")

    def show_link(self, note: NoteView | None) -> None:
        self._link_kind = note.link_kind if note else ""
        if not note or not note.link:
            self.link.setText("")
            self.link.setVisible(False)
            return
        action = " — <a href='open'>open on the chart</a>" if note.link_kind == "plan" else (
            " — <a href='open'>open the image</a>" if note.link_kind == "capture" else "")
        self.link.setText(f"🔗 {escape(note.link)}{action}")
        self.link.setVisible(True)

    def current_id(self) -> int | None:
        return self._current

    def is_dirty(self) -> bool:
        return self._dirty

    def mark_saved(self, when: str) -> None:
        self.status.setText(f"Saved {when}")

    # -- intent ----------------------------------------------------------------------------------
    def _emit_filter(self) -> None:
        self.filter_changed.emit(self.symbol_filter.text().strip().upper(), self.tag_filter.currentData() or "",
                                 self.search.text().strip())

    def filters(self) -> tuple[str, str, str]:
        """What the list is filtered by now: symbol, tag, search text."""
        return (self.symbol_filter.text().strip().upper(), self.tag_filter.currentData() or "",
                self.search.text().strip())

    def selected_ids(self) -> list[int]:
        return [int(i.data(Qt.ItemDataRole.UserRole)) for i in self.list.selectedItems()]

    def _export_selected(self) -> None:
        ids = self.selected_ids() or ([self._current] if self._current is not None else [])
        if ids:
            self.export_requested.emit(ids)
        else:
            self.status.setText("Select the notes to export first (or export all)")

    def _open_link(self) -> None:
        if self._current is not None:
            self.link_requested.emit(self._current)

    def _set_editable(self, on: bool) -> None:
        for w in (self.title, self.symbol, self.tags, self.editor):
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
                                 self.tags.text(), self.editor.toPlainText())

    def _picked(self, item: QListWidgetItem | None, _prev: object) -> None:
        if item is not None:
            self.note_selected.emit(int(item.data(Qt.ItemDataRole.UserRole)))

    def _delete(self) -> None:
        if self._current is not None:
            self._autosave.stop()
            self._dirty = False
            self.delete_requested.emit(self._current)
