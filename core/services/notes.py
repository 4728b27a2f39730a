"""The trader's notes: create, read, update, delete, list and search (the repository is
core/store/notes.py)."""

from __future__ import annotations

from dataclasses import dataclass

from core.bus import Bus
from core.errors import InputError
from core.events import Event
from core.runtime import KernelRuntime
from core.store.engine import Store
from core.store.notes import UNCHANGED, Note, NotesRepo
from core.store.validation import RecordNotFound


@dataclass(frozen=True, slots=True)
class NoteChanged(Event):
    """A note was created, edited or deleted (the window's Notes panel and the API stay in step)."""

    note_id: int
    action: str  # "created" | "updated" | "deleted"


class NotesService:
    def __init__(self, store: Store | None, bus: Bus, runtime: KernelRuntime) -> None:
        self._store, self._bus, self._rt = store, bus, runtime

    def _repo(self) -> NotesRepo:
        if self._store is None:
            raise InputError("store", "the database is not open")
        return NotesRepo(self._store)

    async def create(self, content: str, *, title: str | None = None, symbol: str | None = None,
                     prediction_id: int | None = None, owner: str = "local") -> Note:
        repo = self._repo()
        note = await self._rt.run_io(lambda: repo.add(content, title=title, symbol=symbol,
                                                      prediction_id=prediction_id, owner=owner))
        self._bus.publish(NoteChanged(note.id, "created"))
        return note

    async def get(self, note_id: int, *, owner: str | None = None) -> Note:
        """The note; with `owner`, another user's note is "not found"."""
        repo = self._repo()
        note = await self._rt.run_io(lambda: repo.get(note_id, owner=owner))
        if note is None:
            raise RecordNotFound("note_id", f"no note {note_id}")
        return note

    async def update(self, note_id: int, *, content: str | None = None, title: str | None = None,
                     symbol: str | None = None, owner: str | None = None) -> Note:
        """Change the given fields (None leaves a field as it is)."""
        repo = self._repo()
        note = await self._rt.run_io(lambda: repo.update(
            note_id, content=UNCHANGED if content is None else content, title=UNCHANGED if title is None else title,
            symbol=UNCHANGED if symbol is None else symbol, owner=owner))
        self._bus.publish(NoteChanged(note.id, "updated"))
        return note

    async def delete(self, note_id: int, *, owner: str | None = None) -> None:
        repo = self._repo()
        await self._rt.run_io(lambda: repo.delete(note_id, owner=owner))
        self._bus.publish(NoteChanged(note_id, "deleted"))

    async def list(self, *, symbol: str | None = None, limit: int = 100, offset: int = 0,
                   owner: str | None = None) -> list[Note]:
        repo = self._repo()
        return await self._rt.run_io(lambda: repo.list_notes(symbol=symbol, limit=limit, offset=offset,
                                                             owner=owner))

    async def search(self, query: str, *, limit: int = 50, owner: str | None = None) -> list[Note]:
        """Notes whose title or text contains every word of `query` (case-insensitive)."""
        words = [w.lower() for w in (query or "").split() if w]
        if not words:
            raise InputError("q", "type at least one word to search for")
        notes = await self.list(limit=10_000, owner=owner)
        hits = [n for n in notes if all(w in f"{n.title or ''} {n.content}".lower() for w in words)]
        return hits[:limit]
