"""The trader's notes: create, read, update, delete, list and search (the repository is
core/store/notes.py)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from core.bus import Bus
from core.errors import InputError
from core.events import Event
from core.runtime import KernelRuntime
from core.store.engine import Store
from core.store.notes import UNCHANGED, LinkIn, Note, NotesRepo, Unchanged
from core.store.validation import RecordNotFound


@dataclass(frozen=True, slots=True)
class NoteChanged(Event):
    """A note was created, edited or deleted (the window's Notes panel and the API stay in step)."""

    note_id: int
    action: str  # "created" | "updated" | "deleted"


LOCAL_USER = "local"        # the window's own user (core/api/auth.py names it the same)
USER_PLAN_PREFIX = "u."     # plans a user authored; other plans are the scanner's, shared by all


def plan_owners(owner: str, plan_id: str | None) -> tuple[str, ...]:
    """Whose plans `owner` may link a note to: their own, and the scanner's shared plans (the same
    rule as the coach routes' `visible_plan`)."""
    if owner != LOCAL_USER and plan_id is not None and not plan_id.startswith(USER_PLAN_PREFIX):
        return (owner, LOCAL_USER)
    return (owner,)


class NotesService:
    """The one way to notes for the window, the API and the CLI: every change publishes NoteChanged."""

    def __init__(self, store: Store | None, bus: Bus, runtime: KernelRuntime) -> None:
        self._store, self._bus, self._rt = store, bus, runtime

    def _repo(self) -> NotesRepo:
        if self._store is None:
            raise InputError("store", "the database is not open")
        return NotesRepo(self._store)

    async def create(self, content: str, *, title: str | None = None, symbol: str | None = None,
                     tags: Iterable[str] | str = (), plan_id: str | None = None, plan_version: int | None = None,
                     prediction_id: int | None = None, capture_id: int | None = None,
                     owner: str = LOCAL_USER) -> Note:
        """A new note; at most one of plan_id (+ plan_version), prediction_id, capture_id links it.
        An unknown or another user's link target → RecordNotFound naming the field."""
        repo = self._repo()
        note = await self._rt.run_io(lambda: repo.add(
            content, title=title, symbol=symbol, tags=tags, plan_id=plan_id, plan_version=plan_version,
            prediction_id=prediction_id, capture_id=capture_id, owner=owner,
            plan_owners=plan_owners(owner, plan_id)))
        self._bus.publish(NoteChanged(note.id, "created"))
        return note

    async def get(self, note_id: int, *, owner: str | None = None) -> Note:
        """The note; with `owner`, another user's note is "not found"."""
        repo = self._repo()
        note = await self._rt.run_io(lambda: repo.get(note_id, owner=owner))
        if note is None:
            raise RecordNotFound("note_id", f"no note {note_id}")
        return note

    async def update(self, note_id: int, *, content: str | Unchanged | None = UNCHANGED,
                     title: str | Unchanged | None = UNCHANGED, symbol: str | Unchanged | None = UNCHANGED,
                     tags: Iterable[str] | str | Unchanged = UNCHANGED, link: LinkIn | Unchanged = UNCHANGED,
                     owner: str | None = None) -> Note:
        """Change the given fields: None clears title or symbol, `link=LinkIn()` unlinks; a field
        left out stays as it is."""
        repo = self._repo()
        if content is None:  # the text cannot be cleared (a note has text): None leaves it
            content = UNCHANGED
        who = owner or LOCAL_USER
        owners = plan_owners(who, link.plan_id) if isinstance(link, LinkIn) else None
        note = await self._rt.run_io(lambda: repo.update(
            note_id, content=content, title=title, symbol=symbol, tags=tags, link=link, owner=owner,
            plan_owners=owners))
        self._bus.publish(NoteChanged(note.id, "updated"))
        return note

    async def delete(self, note_id: int, *, owner: str | None = None) -> None:
        repo = self._repo()
        await self._rt.run_io(lambda: repo.delete(note_id, owner=owner))
        self._bus.publish(NoteChanged(note_id, "deleted"))

    async def list(self, *, symbol: str | None = None, tag: str | None = None, plan_id: str | None = None,
                   limit: int = 100, offset: int = 0, owner: str | None = None) -> list[Note]:
        """Newest first, optionally of one symbol, tag or plan."""
        repo = self._repo()
        return await self._rt.run_io(lambda: repo.list_notes(symbol=symbol, tag=tag, plan_id=plan_id, limit=limit,
                                                             offset=offset, owner=owner))

    async def search(self, q: str | None, symbol: str | None = None, tag: str | None = None, *,
                     limit: int = 50, offset: int = 0, owner: str | None = None) -> list[Note]:
        """Full-text search (SQLite FTS5 or PostgreSQL tsvector — the same query language and the
        same answers, core/store/note_search.py), best match first, within `symbol` and `tag`;
        without `q`, the filtered notes newest first. Unreadable `q` → InputError("q", why)."""
        repo = self._repo()
        return await self._rt.run_io(lambda: repo.search(q, symbol=symbol, tag=tag, limit=limit, offset=offset,
                                                         owner=owner))

    async def tags(self, *, owner: str | None = None) -> list[tuple[str, int]]:
        """Tags in use and how many notes carry each, most used first (the panel's tag filter)."""
        repo = self._repo()
        return await self._rt.run_io(lambda: repo.tags(owner=owner))
