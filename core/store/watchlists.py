"""Named, ordered symbol lists."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select

from core.errors import InputError
from core.store.engine import Store
from core.store.schema import WatchlistRecord
from core.store.validation import clean_symbol, clean_text, now_utc

MAX_SYMBOLS = 500


class WatchlistsRepo:
    def __init__(self, store: Store) -> None:
        self._store = store

    def get(self, name: str, *, owner: str = "local") -> list[str] | None:
        """The symbols in the trader's order, or None when this user has no such list."""
        key = clean_text(name, "name", max_len=64)
        with self._store.session() as s:
            row = s.scalar(select(WatchlistRecord).where(WatchlistRecord.name == key,
                                                         WatchlistRecord.owner == owner))
            return list(row.symbols) if row else None

    def save(self, name: str, symbols: Sequence[str], *, owner: str = "local") -> list[str]:
        """Replace the list (created if new). Symbols are normalised; repeats keep their first place."""
        key = clean_text(name, "name", max_len=64)
        if isinstance(symbols, str) or not isinstance(symbols, Sequence):
            raise InputError("symbols", "must be a list of symbols")
        cleaned = list(dict.fromkeys(clean_symbol(sym, f"symbols[{i}]") for i, sym in enumerate(symbols)))
        if len(cleaned) > MAX_SYMBOLS:
            raise InputError("symbols", f"{len(cleaned)} symbols; at most {MAX_SYMBOLS}")
        with self._store.session(write=True) as s:
            row = s.scalar(select(WatchlistRecord).where(WatchlistRecord.name == key).with_for_update())
            if row is not None and row.owner != owner:
                # names are unique across users (schema 0001); owners never share or see a list
                raise InputError("name", f"{key!r} is taken; choose another name")
            if row is None:
                s.add(WatchlistRecord(name=key, symbols=cleaned, updated_at=now_utc(),
                                      owner=clean_text(owner, "owner", max_len=64)))
            else:
                row.symbols = cleaned
                row.updated_at = now_utc()
        return cleaned

    def names(self, *, owner: str = "local") -> list[str]:
        with self._store.session() as s:
            return list(s.scalars(select(WatchlistRecord.name).where(WatchlistRecord.owner == owner)
                                  .order_by(WatchlistRecord.name)))

    def delete(self, name: str, *, owner: str = "local") -> bool:
        """True when a list was deleted."""
        key = clean_text(name, "name", max_len=64)
        with self._store.session(write=True) as s:
            result = s.execute(delete(WatchlistRecord).where(WatchlistRecord.name == key,
                                                             WatchlistRecord.owner == owner))
            return bool(result.rowcount)  # type: ignore[attr-defined]
