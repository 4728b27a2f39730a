"""The trader's notes (DT `user_notes`): free text, optionally tied to a symbol or a prediction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.store.engine import Store
from core.store.schema import Prediction, UserNote
from core.store.validation import (
    RecordNotFound,
    clean_text,
    now_utc,
    optional_symbol,
    optional_text,
    positive_int,
)

MAX_TITLE = 200
MAX_CONTENT = 100_000


class _Unchanged:
    """Marks an update argument that was not given (None means "clear it")."""


UNCHANGED = _Unchanged()


@dataclass(frozen=True, slots=True)
class Note:
    id: int
    title: str | None
    content: str
    symbol: str | None
    prediction_id: int | None
    created_at: datetime
    updated_at: datetime


def _note(row: UserNote) -> Note:
    return Note(row.id, row.title, row.content, row.symbol, row.prediction_id, row.created_at,
                row.updated_at)


class NotesRepo:
    def __init__(self, store: Store) -> None:
        self._store = store

    def add(
        self,
        content: str,
        *,
        title: str | None = None,
        symbol: str | None = None,
        prediction_id: int | None = None,
        owner: str = "local",
    ) -> Note:
        row = UserNote(
            owner=clean_text(owner, "owner", max_len=64),
            content=clean_text(content, "content", max_len=MAX_CONTENT),
            title=optional_text(title, "title", max_len=MAX_TITLE),
            symbol=optional_symbol(symbol),
        )
        row.created_at = row.updated_at = now_utc()
        with self._store.session(write=True) as s:
            row.prediction_id = _existing_prediction(s, prediction_id)
            s.add(row)
            s.flush()
            return _note(row)

    def get(self, note_id: int, *, owner: str | None = None) -> Note | None:
        """The note, or None; with `owner`, only that user's note."""
        with self._store.session() as s:
            row = s.get(UserNote, note_id)
            return _note(row) if row and (owner is None or row.owner == owner) else None

    def update(
        self,
        note_id: int,
        *,
        content: str | _Unchanged = UNCHANGED,
        title: str | _Unchanged | None = UNCHANGED,
        symbol: str | _Unchanged | None = UNCHANGED,
        prediction_id: int | _Unchanged | None = UNCHANGED,
        owner: str | None = None,
    ) -> Note:
        """Change the given fields; pass None to clear an optional one. With `owner`, only that
        user's note (another user's note is "not found")."""
        with self._store.session(write=True) as s:
            row = s.get(UserNote, note_id, with_for_update=True)
            if row is None or (owner is not None and row.owner != owner):
                raise RecordNotFound("note_id", f"no note {note_id}")
            if not isinstance(content, _Unchanged):
                row.content = clean_text(content, "content", max_len=MAX_CONTENT)
            if not isinstance(title, _Unchanged):
                row.title = optional_text(title, "title", max_len=MAX_TITLE)
            if not isinstance(symbol, _Unchanged):
                row.symbol = optional_symbol(symbol)
            if not isinstance(prediction_id, _Unchanged):
                row.prediction_id = _existing_prediction(s, prediction_id)
            row.updated_at = now_utc()
            s.flush()
            return _note(row)

    def delete(self, note_id: int, *, owner: str | None = None) -> None:
        with self._store.session(write=True) as s:
            row = s.get(UserNote, note_id)
            if row is None or (owner is not None and row.owner != owner):
                raise RecordNotFound("note_id", f"no note {note_id}")
            s.delete(row)

    def list_notes(
        self,
        *,
        symbol: str | None = None,
        prediction_id: int | None = None,
        limit: int = 100,
        offset: int = 0,
        owner: str | None = None,
    ) -> list[Note]:
        """Newest first; with `owner`, only that user's notes."""
        q = select(UserNote).order_by(UserNote.created_at.desc(), UserNote.id.desc())
        if owner is not None:
            q = q.where(UserNote.owner == owner)
        if symbol is not None:
            q = q.where(UserNote.symbol == optional_symbol(symbol))
        if prediction_id is not None:
            q = q.where(UserNote.prediction_id == prediction_id)
        q = q.limit(positive_int(limit, "limit")).offset(positive_int(offset, "offset", allow_zero=True))
        with self._store.session() as s:
            return [_note(r) for r in s.scalars(q)]


def _existing_prediction(session: Session, prediction_id: int | None) -> int | None:
    if prediction_id is None:
        return None
    if session.get(Prediction, positive_int(prediction_id, "prediction_id")) is None:
        raise RecordNotFound("prediction_id", f"no prediction {prediction_id}")
    return prediction_id
