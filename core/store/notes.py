"""The trader's notes (DT `user_notes`): Markdown text with a title, a symbol, tags, and at most one
link — to a plan (version), a prediction or a capture. Search: core/store/note_search.py."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, column, delete, exists, func, literal_column, select, table, text
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from core.errors import InputError
from core.store.engine import Store
from core.store.note_search import FTS_RANK, FTS_TABLE, PG_COLUMN, parse_query
from core.store.plans import clean_plan_id
from core.store.schema import NoteTag, PlanRecord, Prediction, Snapshot, UserNote
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
MAX_TAGS = 20
_TAG_RE = re.compile(r"^[a-z0-9][a-z0-9_\-./]{0,31}$")
_FTS = table(FTS_TABLE, column("rowid"))


class _Unchanged:
    """Marks an update argument that was not given (None means "clear it")."""


UNCHANGED = _Unchanged()
Unchanged = _Unchanged   # the type, for callers' annotations


@dataclass(frozen=True, slots=True)
class NoteLink:
    """What a note is about besides its symbol: one plan (a version, or the newest), one
    prediction, or one capture (its snapshot id and image file)."""

    kind: str  # "plan" | "prediction" | "capture"
    plan_id: str | None = None
    plan_version: int | None = None
    prediction_id: int | None = None
    capture_id: int | None = None
    capture_path: str | None = None

    def label(self) -> str:
        if self.kind == "plan":
            return f"plan {self.plan_id}" + (f" v{self.plan_version}" if self.plan_version else "")
        if self.kind == "prediction":
            return f"prediction {self.prediction_id}"
        return f"capture {self.capture_id}" if self.capture_id is not None else f"capture {self.capture_path}"

    def to_json(self) -> dict[str, object]:
        keys = {"plan": ("plan_id", "plan_version"), "prediction": ("prediction_id",),
                "capture": ("capture_id", "capture_path")}[self.kind]
        return {"kind": self.kind, **{k: getattr(self, k) for k in keys}}


@dataclass(frozen=True, slots=True)
class Note:
    id: int
    title: str | None
    content: str
    symbol: str | None
    prediction_id: int | None
    created_at: datetime
    updated_at: datetime
    tags: tuple[str, ...] = ()
    link: NoteLink | None = None


def _link(row: UserNote) -> NoteLink | None:
    if row.plan_id is not None:
        return NoteLink("plan", plan_id=row.plan_id, plan_version=row.plan_version)
    if row.prediction_id is not None:
        return NoteLink("prediction", prediction_id=row.prediction_id)
    if row.capture_id is not None or row.capture_path is not None:
        return NoteLink("capture", capture_id=row.capture_id, capture_path=row.capture_path)
    return None


def _note(row: UserNote, tags: Iterable[str] = ()) -> Note:
    return Note(row.id, row.title, row.content, row.symbol, row.prediction_id, row.created_at,
                row.updated_at, tuple(sorted(tags)), _link(row))


def clean_tag(value: object, field: str = "tag") -> str:
    """One tag: lower-case letters, digits and _ - . / (a leading # is dropped), at most 32."""
    if not isinstance(value, str):
        raise InputError(field, "must be a string")
    tag = value.strip().lstrip("#").lower()
    if not _TAG_RE.match(tag):
        raise InputError(field, f"{value!r} is not a tag (letters, digits, _ - . /; at most 32; no spaces)")
    return tag


def clean_tags(values: object, field: str = "tags") -> tuple[str, ...]:
    """Unique tags in the order given; a string is split on commas and spaces."""
    if isinstance(values, str):
        values = [v for v in re.split(r"[,\s]+", values) if v]
    if not isinstance(values, Iterable) or isinstance(values, (bytes, dict)):
        raise InputError(field, "must be a list of tags")
    out: list[str] = []
    for v in values:
        t = clean_tag(v, field)
        if t not in out:
            out.append(t)
    if len(out) > MAX_TAGS:
        raise InputError(field, f"{len(out)} tags; at most {MAX_TAGS} allowed")
    return tuple(out)


@dataclass(frozen=True, slots=True)
class LinkIn:
    """A link as the caller gave it (validated against the database by the repository)."""

    plan_id: str | None = None
    plan_version: int | None = None
    prediction_id: int | None = None
    capture_id: int | None = None

    def kinds(self) -> list[str]:
        return [k for k, v in (("plan_id", self.plan_id), ("prediction_id", self.prediction_id),
                               ("capture_id", self.capture_id)) if v is not None]


def _set_link(s: Session, row: UserNote, link: LinkIn, owner: str, plan_owners: Sequence[str] | None) -> None:
    """Replace the note's link by `link` (all None clears it); refuse what does not exist."""
    kinds = link.kinds()
    if len(kinds) > 1:
        raise InputError(kinds[1], f"a note links to one thing; {' and '.join(kinds)} were both given")
    if link.plan_version is not None and link.plan_id is None:
        raise InputError("plan_version", "needs plan_id")
    row.plan_id = row.plan_version = row.prediction_id = row.capture_id = row.capture_path = None
    if link.plan_id is not None:
        pid = clean_plan_id(link.plan_id)
        visible = select(PlanRecord.version).where(PlanRecord.plan_id == pid)
        if plan_owners is not None:
            visible = visible.where(PlanRecord.owner.in_(list(plan_owners)))
        if s.scalar(visible.limit(1)) is None:
            raise RecordNotFound("plan_id", f"no plan {pid}")
        if link.plan_version is not None and s.scalar(visible.where(
                PlanRecord.version == positive_int(link.plan_version, "plan_version")).limit(1)) is None:
            raise RecordNotFound("plan_version", f"plan {pid} has no version {link.plan_version} (kept: the newest)")
        row.plan_id, row.plan_version = pid, link.plan_version
    elif link.prediction_id is not None:
        pred = s.get(Prediction, positive_int(link.prediction_id, "prediction_id"))
        if pred is None or pred.owner != owner:
            raise RecordNotFound("prediction_id", f"no prediction {link.prediction_id}")
        row.prediction_id = pred.prediction_id
    elif link.capture_id is not None:
        snap = s.get(Snapshot, positive_int(link.capture_id, "capture_id"))
        if snap is None:
            raise RecordNotFound("capture_id", f"no capture {link.capture_id}")
        row.capture_id, row.capture_path = snap.id, snap.image_path


def _set_tags(s: Session, note_id: int, tags: Sequence[str]) -> None:
    s.execute(delete(NoteTag).where(NoteTag.note_id == note_id))
    s.add_all(NoteTag(note_id=note_id, tag=t) for t in tags)


def _tags_of(s: Session, ids: Sequence[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {i: [] for i in ids}
    if ids:
        for nid, tag in s.execute(select(NoteTag.note_id, NoteTag.tag).where(NoteTag.note_id.in_(list(ids)))):
            out[nid].append(tag)
    return out


class NotesRepo:
    def __init__(self, store: Store) -> None:
        self._store = store

    def add(
        self,
        content: str,
        *,
        title: str | None = None,
        symbol: str | None = None,
        tags: Iterable[str] | str = (),
        plan_id: str | None = None,
        plan_version: int | None = None,
        prediction_id: int | None = None,
        capture_id: int | None = None,
        owner: str = "local",
        plan_owners: Sequence[str] | None = None,
    ) -> Note:
        """A new note. `plan_owners` limits which users' plans it may link to (None: any)."""
        row = UserNote(
            owner=clean_text(owner, "owner", max_len=64),
            content=clean_text(content, "content", max_len=MAX_CONTENT),
            title=optional_text(title, "title", max_len=MAX_TITLE),
            symbol=optional_symbol(symbol),
        )
        clean = clean_tags(tags)
        row.created_at = row.updated_at = now_utc()
        with self._store.session(write=True) as s:
            _set_link(s, row, LinkIn(plan_id, plan_version, prediction_id, capture_id), row.owner, plan_owners)
            s.add(row)
            s.flush()
            _set_tags(s, row.id, clean)
            return _note(row, clean)

    def get(self, note_id: int, *, owner: str | None = None) -> Note | None:
        """The note, or None; with `owner`, only that user's note."""
        with self._store.session() as s:
            row = s.get(UserNote, note_id)
            if not row or (owner is not None and row.owner != owner):
                return None
            return _note(row, _tags_of(s, [row.id])[row.id])

    def update(
        self,
        note_id: int,
        *,
        content: str | _Unchanged = UNCHANGED,
        title: str | _Unchanged | None = UNCHANGED,
        symbol: str | _Unchanged | None = UNCHANGED,
        tags: Iterable[str] | str | _Unchanged = UNCHANGED,
        link: LinkIn | _Unchanged = UNCHANGED,
        prediction_id: int | _Unchanged | None = UNCHANGED,
        owner: str | None = None,
        plan_owners: Sequence[str] | None = None,
    ) -> Note:
        """Change the given fields; pass None to clear an optional one, `link=LinkIn()` to unlink.
        With `owner`, only that user's note (another user's note is "not found")."""
        if not isinstance(link, _Unchanged) and not isinstance(prediction_id, _Unchanged):
            raise InputError("prediction_id", "give the link once (link or prediction_id)")
        if not isinstance(prediction_id, _Unchanged):
            link = LinkIn(prediction_id=prediction_id)
        clean = None if isinstance(tags, _Unchanged) else clean_tags(tags)
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
            if not isinstance(link, _Unchanged):
                _set_link(s, row, link, row.owner, plan_owners)
            if clean is not None:
                _set_tags(s, row.id, clean)
            row.updated_at = now_utc()
            s.flush()
            return _note(row, clean if clean is not None else _tags_of(s, [row.id])[row.id])

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
        tag: str | None = None,
        prediction_id: int | None = None,
        plan_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
        owner: str | None = None,
    ) -> list[Note]:
        """Newest first; with `owner`, only that user's notes."""
        q = self._filtered(select(UserNote.id), symbol=symbol, tag=tag, owner=owner)
        if prediction_id is not None:
            q = q.where(UserNote.prediction_id == prediction_id)
        if plan_id is not None:
            q = q.where(UserNote.plan_id == clean_plan_id(plan_id))
        q = q.order_by(UserNote.created_at.desc(), UserNote.id.desc())
        return self._page(q, limit, offset)

    def search(
        self,
        q: str | None,
        *,
        symbol: str | None = None,
        tag: str | None = None,
        limit: int = 50,
        offset: int = 0,
        owner: str | None = None,
    ) -> list[Note]:
        """Notes matching the search text `q` (see note_search), best match first; without `q`,
        the notes of `symbol` and/or `tag`, newest first. Bad syntax → InputError("q", why)."""
        if q is None or not q.strip():
            return self.list_notes(symbol=symbol, tag=tag, limit=limit, offset=offset, owner=owner)
        query = parse_query(q)
        stmt = self._filtered(select(UserNote.id), symbol=symbol, tag=tag, owner=owner)
        if self._store.dialect == "sqlite":
            stmt = (stmt.join(_FTS, _FTS.c.rowid == UserNote.id)
                    .where(text(f"{FTS_TABLE} MATCH :fts_q").bindparams(fts_q=query.fts5()))
                    .order_by(text(FTS_RANK), UserNote.updated_at.desc(), UserNote.id.desc()))
        else:
            vector = literal_column(f"{UserNote.__tablename__}.{PG_COLUMN}")
            tsq = func.to_tsquery(literal_column("'english'::regconfig"), query.tsquery())
            stmt = (stmt.where(vector.op("@@")(tsq))
                    .order_by(func.ts_rank_cd(vector, tsq).desc(), UserNote.updated_at.desc(), UserNote.id.desc()))
        try:
            return self._page(stmt, limit, offset)
        except (OperationalError, ProgrammingError) as exc:
            # parse_query already refuses what it cannot read; this is the last line, never a 500.
            if "fts5" in str(exc).lower() or "tsquery" in str(exc).lower():
                raise InputError("q", f"cannot search for {q!r}: {exc.orig}") from exc
            raise

    def tags(self, *, owner: str | None = None) -> list[tuple[str, int]]:
        """Every tag in use with its number of notes, most used first."""
        q = (select(NoteTag.tag, func.count()).join(UserNote, UserNote.id == NoteTag.note_id)
             .group_by(NoteTag.tag).order_by(func.count().desc(), NoteTag.tag))
        if owner is not None:
            q = q.where(UserNote.owner == owner)
        with self._store.session() as s:
            return [(t, int(c)) for t, c in s.execute(q)]

    # -- helpers ---------------------------------------------------------------------------------
    @staticmethod
    def _filtered(q: Select[tuple[int]], *, symbol: str | None, tag: str | None,
                  owner: str | None) -> Select[tuple[int]]:
        if owner is not None:
            q = q.where(UserNote.owner == owner)
        if symbol is not None:
            q = q.where(UserNote.symbol == optional_symbol(symbol))
        if tag is not None:
            t = clean_tag(tag)
            q = q.where(exists().where(NoteTag.note_id == UserNote.id, NoteTag.tag == t))
        return q

    def _page(self, q: Select[tuple[int]], limit: int, offset: int) -> list[Note]:
        q = q.limit(positive_int(limit, "limit")).offset(positive_int(offset, "offset", allow_zero=True))
        with self._store.session() as s:
            ids = list(s.scalars(q))
            rows = {r.id: r for r in s.scalars(select(UserNote).where(UserNote.id.in_(ids)))} if ids else {}
            tags = _tags_of(s, ids)
            return [_note(rows[i], tags[i]) for i in ids if i in rows]
