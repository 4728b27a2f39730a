"""Notes controller: list/filter/search, open, autosave, create (blank, from a plan, from a chart
screenshot), delete and export to Markdown files; NoteChanged events keep it in step with notes the
GPT writes through the API."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from pathlib import Path

from app.panels.formatting import plan_markdown
from app.panels.host import PanelHost, et_datetime
from core.scanner.plan import Plan
from core.services.notes import NoteChanged
from core.store.notes import Note
from widgets.panels.notes import NotesPanel, NoteView

log = logging.getLogger(__name__)


def view(n: Note) -> NoteView:
    return NoteView(n.id, n.title or "", n.symbol or "", n.content, et_datetime(n.updated_at, "%Y-%m-%d %H:%M:%S"))


def export_notes(notes: list[Note], folder: Path) -> list[Path]:
    """One Markdown file per note (title as heading, symbol and time as a front line)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in notes:
        slug = re.sub(r"[^A-Za-z0-9_-]+", "-", (n.title or "note").strip())[:48].strip("-") or "note"
        path = folder / f"{n.id:05d}-{slug}.md"
        head = f"# {n.title or '(untitled)'}\n\n" + (f"Symbol: {n.symbol}\n\n" if n.symbol else "")
        path.write_text(head + n.content + "\n", encoding="utf-8")
        paths.append(path)
    return paths


class NotesController:
    def __init__(self, host: PanelHost, panel: NotesPanel, symbol_of_view: Callable[[], str | None]) -> None:
        self._host, self._panel, self._symbol = host, panel, symbol_of_view
        self._filter = ("", "")
        self.saves = 0
        panel.new_requested.connect(lambda: host._spawn(self.create(""), "note"))
        panel.delete_requested.connect(lambda nid: host._spawn(self.delete(nid), "note"))
        panel.save_requested.connect(lambda nid, t, s, c: host._spawn(self.save(nid, t, s, c), "note"))
        panel.note_selected.connect(lambda nid: host._spawn(self.open(nid), "note"))
        panel.filter_changed.connect(self._filtered)

    def _filtered(self, symbol: str, text: str) -> None:
        self._filter = (symbol, text)
        self._host._spawn(self.refresh(), "notes")

    async def refresh(self) -> None:
        notes = self._host.kernel.notes
        symbol, text = self._filter
        if text:
            found = await self._host.call(notes.search(text))
            found = [n for n in found if not symbol or (n.symbol or "") == symbol]
        else:
            found = await self._host.call(notes.list(symbol=symbol or None))
        self._panel.set_notes([view(n) for n in found])

    async def open(self, note_id: int) -> None:
        note = await self._host.call(self._host.kernel.notes.get(note_id))
        self._panel.show_note(view(note))

    async def create(self, content: str, title: str = "New note", symbol: str | None = None) -> Note:
        sym = symbol if symbol is not None else self._symbol()
        content = content if content.strip() else f"# {title}\n\n"  # the store refuses an empty note
        note = await self._host.call(self._host.kernel.notes.create(content, title=title, symbol=sym or None))
        self._panel.show_note(view(note))
        await self.refresh()
        return note

    async def save(self, note_id: int, title: str, symbol: str, content: str) -> None:
        if not content.strip():
            self._panel.status.setText("An empty note is not saved (the last text stays until you type)")
            return
        note = await self._host.call(self._host.kernel.notes.update(
            note_id, content=content, title=title, symbol=symbol or None))
        self.saves += 1
        self._panel.mark_saved(view(note).updated)

    async def delete(self, note_id: int) -> None:
        await self._host.call(self._host.kernel.notes.delete(note_id))
        if self._panel.current_id() == note_id:
            self._panel.show_note(None)
        await self.refresh()

    def new_from_plan(self, plan: Plan) -> None:
        content = (f"Plan {plan.plan_id} v{plan.version}\n\n" + plan_markdown(plan) + "\n\n## My view\n\n")
        self._host._spawn(self.create(content, f"{plan.symbol} {plan.playbook} {plan.direction}", plan.symbol), "note")

    def new_from_screenshot(self, symbol: str, interval: str) -> None:
        self._host._spawn(self._from_capture(symbol, interval), "note")

    async def _from_capture(self, symbol: str, interval: str) -> None:
        cap = await self._host.call(self._host.kernel.collection.capture_now("chart", symbol, interval))
        content = (f"Chart capture {cap.snapshot_id} · {symbol} {interval} · {et_datetime(cap.timestamp)} ET\n\n"
                   f"![chart]({Path(cap.path).as_uri()})\n\n")
        await self.create(content, f"{symbol} {interval} chart", symbol)

    async def export(self, folder: Path) -> list[Path]:
        notes = await self._host.call(self._host.kernel.notes.list(limit=10_000))
        return await asyncio.get_running_loop().run_in_executor(None, export_notes, notes, folder)

    def on_note_changed(self, ev: NoteChanged) -> None:
        """A note changed elsewhere (the API, another panel): refresh the list; reload the open note
        unless the trader is typing in it."""
        self._host._spawn(self.refresh(), "notes")
        if ev.note_id != self._panel.current_id() or self._panel.is_dirty():
            return
        if ev.action == "deleted":
            self._panel.show_note(None)
        else:
            self._host._spawn(self._reload_if_changed(ev.note_id), "notes")

    async def _reload_if_changed(self, note_id: int) -> None:
        note = await self._host.call(self._host.kernel.notes.get(note_id))
        p = self._panel
        if p.current_id() == note_id and not p.is_dirty() and (
                note.content != p.editor.toPlainText() or (note.title or "") != p.title.text()):
            p.show_note(view(note))
