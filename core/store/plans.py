"""Trade plans, versioned: every save is a new version; the newest 20 of each plan are kept (as TC did)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from core.errors import InputError
from core.store.engine import Store
from core.store.schema import DIRECTIONS, PlanRecord
from core.store.validation import (
    clean_symbol,
    clean_text,
    json_payload,
    now_utc,
    optional_symbol,
    positive_int,
)

MAX_PLAN_VERSIONS = 20
_PLAN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$")


@dataclass(frozen=True, slots=True)
class PlanVersion:
    plan_id: str
    version: int
    symbol: str
    playbook: str
    direction: str
    payload: dict[str, Any]
    created_at: datetime


def _plan(row: PlanRecord) -> PlanVersion:
    return PlanVersion(row.plan_id, row.version, row.symbol, row.playbook, row.direction,
                       row.payload, row.created_at)


def clean_plan_id(value: object) -> str:
    if not isinstance(value, str) or not _PLAN_ID_RE.match(value):
        raise InputError("plan_id", f"{value!r} is not a plan id (letters, digits, _ . : -; ≤ 64)")
    return value


class PlansRepo:
    def __init__(self, store: Store, *, keep: int = MAX_PLAN_VERSIONS) -> None:
        self._store = store
        self._keep = positive_int(keep, "keep")

    def save(
        self,
        plan_id: str,
        *,
        symbol: str,
        playbook: str,
        direction: str,
        payload: Mapping[str, Any],
        owner: str = "local",
    ) -> PlanVersion:
        """Store a new version (latest + 1) and drop versions beyond the newest `keep`.

        Idempotent: when the newest version already holds this payload (the same setup saved again
        by a second, concurrent scan), that version is returned and nothing is written."""
        pid = clean_plan_id(plan_id)
        sym = clean_symbol(symbol)
        book = clean_text(playbook, "playbook", max_len=64)
        if direction not in DIRECTIONS:
            raise InputError("direction", f"must be one of {', '.join(DIRECTIONS)}")
        data = json_payload(payload, "payload")
        with self._store.session(write=True) as s:
            _lock_plan(s, pid)
            newest = s.scalar(select(PlanRecord).where(PlanRecord.plan_id == pid)
                              .order_by(PlanRecord.version.desc()).limit(1))
            if newest is not None and _same_payload(newest.payload, data):
                return _plan(newest)
            latest = newest.version if newest is not None else 0
            row = PlanRecord(plan_id=pid, version=(latest or 0) + 1, symbol=sym, playbook=book,
                             direction=direction, payload=data, created_at=now_utc(),
                             owner=clean_text(owner, "owner", max_len=64))
            s.add(row)
            s.flush()
            self._prune(s, pid, self._keep)
            return _plan(row)

    def latest(self, plan_id: str, *, owner: str | None = None) -> PlanVersion | None:
        q = (select(PlanRecord).where(PlanRecord.plan_id == clean_plan_id(plan_id))
             .order_by(PlanRecord.version.desc()).limit(1))
        if owner is not None:
            q = q.where(PlanRecord.owner == owner)
        with self._store.session() as s:
            row = s.scalar(q)
            return _plan(row) if row else None

    def get(self, plan_id: str, version: int, *, owner: str | None = None) -> PlanVersion | None:
        q = select(PlanRecord).where(PlanRecord.plan_id == clean_plan_id(plan_id),
                                     PlanRecord.version == positive_int(version, "version"))
        if owner is not None:
            q = q.where(PlanRecord.owner == owner)
        with self._store.session() as s:
            row = s.scalar(q)
            return _plan(row) if row else None

    def versions(self, plan_id: str, *, owner: str | None = None) -> list[int]:
        """Kept version numbers, oldest first."""
        q = (select(PlanRecord.version).where(PlanRecord.plan_id == clean_plan_id(plan_id))
             .order_by(PlanRecord.version))
        if owner is not None:
            q = q.where(PlanRecord.owner == owner)
        with self._store.session() as s:
            return list(s.scalars(q))

    def recent(self, *, symbol: str | None = None, limit: int = 50, owner: str | None = None) -> list[PlanVersion]:
        """The latest version of each plan, newest plans first."""
        newest = (select(PlanRecord.plan_id, func.max(PlanRecord.version).label("v"))
                  .group_by(PlanRecord.plan_id).subquery())
        q = (select(PlanRecord)
             .join(newest, (PlanRecord.plan_id == newest.c.plan_id) & (PlanRecord.version == newest.c.v))
             .order_by(PlanRecord.created_at.desc(), PlanRecord.id.desc())
             .limit(positive_int(limit, "limit")))
        if symbol is not None:
            q = q.where(PlanRecord.symbol == optional_symbol(symbol))
        if owner is not None:
            q = q.where(PlanRecord.owner == owner)
        with self._store.session() as s:
            return [_plan(r) for r in s.scalars(q)]

    def prune(self, plan_id: str, keep: int = MAX_PLAN_VERSIONS) -> int:
        """Delete all but the newest `keep` versions; returns how many were deleted."""
        with self._store.session(write=True) as s:  # a delete inside a read transaction fails when contended
            return self._prune(s, clean_plan_id(plan_id), positive_int(keep, "keep"))

    @staticmethod
    def _prune(s: Session, plan_id: str, keep: int) -> int:
        cutoff = s.scalar(
            select(PlanRecord.version).where(PlanRecord.plan_id == plan_id)
            .order_by(PlanRecord.version.desc()).offset(keep - 1).limit(1)
        )
        if cutoff is None:
            return 0
        result = s.execute(
            delete(PlanRecord).where(PlanRecord.plan_id == plan_id, PlanRecord.version < cutoff)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _same_payload(stored: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Equal apart from the version number each save stamps."""
    return ({k: v for k, v in stored.items() if k != "version"}
            == {k: v for k, v in new.items() if k != "version"})


def _lock_plan(s: Session, plan_id: str) -> None:
    """Serialise saves of one plan so two writers never pick the same next version.

    SQLite needs nothing more: a write session holds the database write lock from BEGIN IMMEDIATE.
    """
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"plans:{plan_id}"})
