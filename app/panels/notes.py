"""Notes controller: list filtered by symbol/tag and full-text search, open, autosave (text, title,
symbol, tags), create (blank, from a plan — linked to it, from a chart capture — linked to it),
open a note's link (a plan on the chart), delete, export to Markdown files with front matter;
NoteChanged events keep it in step with notes the GPT writes through the API."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices

from app.panels.formatting import plan_markdown
from app.panels.host import PanelHost, et_datetime
from core.errors import InputError
from core.scanner.plan import Plan
from core.services.notes import NoteChanged
from core.store.notes import Note
from core.store.validation import RecordNotFound
from widgets.panels.notes import NotesPanel, NoteView

log = logging.getLogger(__name__)


def view(n: Note) -> NoteView:
    return NoteView(n.id, n.title or "", n.symbol or "", n.content, et_datetime(n.updated_at, "%Y-%m-%d %H:%M:%S"),
                    n.tags, n.link.label() if n.link else "", n.link.kind if n.link else "")


def _utc(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def note_markdown(n: Note) -> str:
    """One note as a Markdown file: YAML front matter (title, symbol, tags, link, created and updated
    in UTC; strings JSON-quoted, which YAML reads as is), then the text."""
    link = n.link.to_json() if n.link else None
    front = [
        "---",
        f"id: {n.id}",
        f"title: {json.dumps(n.title or '', ensure_ascii=False)}",
        f"symbol: {json.dumps(n.symbol) if n.symbol else 'null'}",
        f"tags: {json.dumps(list(n.tags))}",
        f"link: {json.dumps(link, ensure_ascii=False) if link else 'null'}",
        f"created: {_utc(n.created_at)}",
        f"updated: {_utc(n.updated_at)}",
        "---",
        "",
    ]
    return "\n".join(front) + n.content.rstrip("\n") + "\n"


def export_notes(notes: list[Note], folder: Path) -> list[Path]:
    """One Markdown file per note, named by id and title (a second export overwrites the same files)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in notes:
        slug = re.sub(r"[^A-Za-z0-9_-]+", "-", (n.title or "note").strip())[:48].strip("-") or "note"
        path = folder / f"{n.id:05d}-{slug}.md"
        path.write_text(note_markdown(n), encoding="utf-8")
        paths.append(path)
    return paths


class NotesController:
    def __init__(self, host: PanelHost, panel: NotesPanel, symbol_of_view: Callable[[], str | None],
                 open_plan: Callable[[str, int | None], Awaitable[None]] | None = None) -> None:
        self._host, self._panel, self._symbol, self._open_plan = host, panel, symbol_of_view, open_plan
        self.open_prediction: Callable[[int], Awaitable[None]] | None = None   # the predictor panel shows it
        self.saves = 0
        self._refreshing = self._refresh_again = False
        self._saved_at: dict[int, datetime] = {}   # our own last save per note: its NoteChanged is an echo
        panel.new_requested.connect(lambda: host._spawn(self.create(""), "note"))
        panel.delete_requested.connect(lambda nid: host._spawn(self.delete(nid), "note"))
        panel.save_requested.connect(lambda nid, t, s, tags, c: host._spawn(self.save(nid, t, s, tags, c), "note"))
        panel.note_selected.connect(lambda nid: host._spawn(self.open(nid), "note"))
        panel.filter_changed.connect(lambda *_f: host._spawn(self.refresh(), "notes"))
        panel.link_requested.connect(lambda nid: host._spawn(self.open_link(nid), "note link"))

    def _refresh_soon(self) -> None:
        """A burst of changes (the GPT writing notes) runs one search at a time: one in flight,
        one more after it when anything changed meanwhile."""
        if self._refreshing:
            self._refresh_again = True
            return
        self._refreshing = True
        self._host._spawn(self._refresh_coalesced(), "notes")

    async def _refresh_coalesced(self) -> None:
        try:
            while True:
                self._refresh_again = False
                await self.refresh()
                if not self._refresh_again:
                    break
        finally:
            self._refreshing = False

    async def refresh(self) -> None:
        """The list as the filters say (search: best match first), and the tag filter's choices."""
        notes = self._host.kernel.notes
        symbol, tag, text = self._panel.filters()
        try:
            found = await self._host.call(notes.search(text or None, symbol or None, tag or None, limit=500))
        except InputError as exc:   # a half-typed query ("opening …): say why, keep the list
            self._panel.status.setText(f"Search: {exc.reason}")
            return
        tags = await self._host.call(notes.tags())
        self._panel.set_notes([view(n) for n in found])
        self._panel.set_tags(tags)

    async def open(self, note_id: int) -> None:
        note = await self._host.call(self._host.kernel.notes.get(note_id))
        self._panel.show_note(view(note))

    async def create(self, content: str, title: str = "New note", symbol: str | None = None, *,
                     plan: Plan | None = None, capture_id: int | None = None,
                     prediction_id: int | None = None) -> Note:
        sym = symbol if symbol is not None else self._symbol()
        content = content if content.strip() else f"# {title}\n\n"  # the store refuses an empty note
        note = await self._host.call(self._host.kernel.notes.create(
            content, title=title, symbol=sym or None, plan_id=plan.plan_id if plan and plan.version else None,
            plan_version=plan.version if plan and plan.version else None, capture_id=capture_id,
            prediction_id=prediction_id))
        self._panel.show_note(view(note))
        await self.refresh()
        return note

    async def save(self, note_id: int, title: str, symbol: str, tags: str, content: str) -> None:
        if not content.strip():
            self._panel.status.setText("An empty note is not saved (the last text stays until you type)")
            return
        fields: dict[str, object] = {"title": title or None, "symbol": symbol or None, "tags": tags}
        refused: list[str] = []
        while True:
            try:
                note = await self._host.call(self._host.kernel.notes.update(note_id, content=content, **fields))
                break
            except InputError as exc:
                # A half-typed symbol or tag never costs the text: save the rest, say what was left out.
                if exc.field not in fields:
                    raise
                del fields[exc.field]
                refused.append(f"{exc.field}: {exc.reason}")
        self.saves += 1
        self._saved_at[note_id] = note.updated_at
        self._panel.mark_saved(view(note).updated)
        if refused:
            self._panel.status.setText("Saved the text; not saved — " + "; ".join(refused))

    async def delete(self, note_id: int) -> None:
        await self._host.call(self._host.kernel.notes.delete(note_id))
        if self._panel.current_id() == note_id:
            self._panel.show_note(None)
        await self.refresh()

    async def open_link(self, note_id: int) -> None:
        """Double-click / the link: a plan opens in the plan panel and on the chart; a prediction in
        the predictor panel (its forecast, screenshot and outcome); a capture's image in the system
        viewer."""
        note = await self._host.call(self._host.kernel.notes.get(note_id))
        link = note.link
        if link is None:
            self._panel.status.setText("This note links to nothing (new notes from a plan or a capture do)")
        elif link.kind == "plan" and link.plan_id and self._open_plan is not None:
            try:
                await self._open_plan(link.plan_id, link.plan_version)
            except RecordNotFound:
                # Plans keep their newest versions only: fall back to the newest one.
                await self._open_plan(link.plan_id, None)
                self._panel.status.setText(f"Version {link.plan_version} is no longer kept: showing the newest")
        elif link.kind == "prediction" and link.prediction_id is not None and self.open_prediction is not None:
            try:
                await self.open_prediction(link.prediction_id)
            except RecordNotFound:
                self._panel.status.setText(f"Prediction {link.prediction_id} is no longer stored")
        elif link.kind == "capture" and link.capture_path:
            QDesktopServices.openUrl(QUrl.fromLocalFile(link.capture_path))
        else:
            self._panel.status.setText(f"Linked to {link.label()}")

    def new_from_plan(self, plan: Plan) -> None:
        content = (f"Plan {plan.plan_id} v{plan.version}\n\n" + plan_markdown(plan) + "\n\n## My view\n\n")
        self._host._spawn(self._from_plan(plan, content), "note")

    async def _from_plan(self, plan: Plan, content: str) -> None:
        title = f"{plan.symbol} {plan.playbook} {plan.direction}"
        try:
            await self.create(content, title, plan.symbol, plan=plan)
        except RecordNotFound as exc:
            if exc.field not in ("plan_id", "plan_version"):
                raise
            # A would-be plan the scanner has not stored yet: keep the note, without the link.
            await self.create(content, title, plan.symbol)
            self._panel.status.setText("This plan is not stored yet (Scan now stores it): note not linked")

    def new_from_prediction(self, prediction_id: int | None, symbol: str, forecast: list[str],
                            screenshot: str | None) -> None:
        """The predictor's "New note": the forecast's lines and the screenshot, linked to the stored
        prediction (an unstored one — no id — leaves the note unlinked)."""
        head = f"Prediction {prediction_id} · {symbol}" if prediction_id else f"Forecast · {symbol}"
        image = f"![screenshot]({Path(screenshot).resolve().as_uri()})\n\n" if screenshot else ""
        content = head + "\n\n" + "\n".join(f"- {line}" for line in forecast) + "\n\n" + image + "## My view\n\n"
        self._host._spawn(self.create(content, f"{symbol} forecast", symbol or None, prediction_id=prediction_id),
                          "note")

    def new_from_screenshot(self, symbol: str, interval: str) -> None:
        self._host._spawn(self._from_capture(symbol, interval), "note")

    async def _from_capture(self, symbol: str, interval: str) -> None:
        cap = await self._host.call(self._host.kernel.collection.capture_now("chart", symbol, interval))
        content = (f"Chart capture {cap.snapshot_id} · {symbol} {interval} · {et_datetime(cap.timestamp)} ET\n\n"
                   f"![chart]({Path(cap.path).as_uri()})\n\n")
        await self.create(content, f"{symbol} {interval} chart", symbol, capture_id=cap.snapshot_id)

    async def export(self, folder: Path, note_ids: list[int] | None = None) -> list[Path]:
        """The given notes (all when none are given) → one Markdown file each in `folder`."""
        notes_svc = self._host.kernel.notes
        if note_ids:
            notes = [await self._host.call(notes_svc.get(i)) for i in note_ids]
        else:
            notes = await self._host.call(notes_svc.list(limit=100_000))
        return await asyncio.get_running_loop().run_in_executor(None, export_notes, notes, folder)

    def on_note_changed(self, ev: NoteChanged) -> None:
        """A note changed elsewhere (the API, another panel): refresh the list; reload the open note
        unless the trader is typing in it."""
        self._refresh_soon()
        if ev.note_id != self._panel.current_id() or self._panel.is_dirty():
            return
        if ev.action == "deleted":
            self._panel.show_note(None)
        else:
            self._host._spawn(self._reload_if_changed(ev.note_id), "notes")

    async def _reload_if_changed(self, note_id: int) -> None:
        note = await self._host.call(self._host.kernel.notes.get(note_id))
        p = self._panel
        if self._saved_at.get(note_id) == note.updated_at:
            return   # the echo of the panel's own save: the editor already shows it
        if p.current_id() == note_id and not p.is_dirty() and (
                note.content != p.editor.toPlainText() or (note.title or "") != p.title.text()
                or ", ".join(note.tags) != p.tags.text()):
            p.show_note(view(note))
        elif p.current_id() == note_id:
            p.show_link(view(note))
