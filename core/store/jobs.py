"""The jobs table: what long work ran, for whom, how it ended (core.jobs owns the life cycle)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from core.errors import InputError
from core.store.engine import Store
from core.store.schema import JOB_STATUSES, JobRecord
from core.store.validation import RecordNotFound, clean_text, json_payload, now_utc, positive_int

FINISHED = ("succeeded", "failed", "cancelled")


@dataclass(frozen=True, slots=True)
class JobRow:
    id: int
    kind: str
    owner: str
    status: str
    progress: float
    message: str
    params: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


def _row(r: JobRecord) -> JobRow:
    return JobRow(r.id, r.kind, r.owner, r.status, r.progress, r.message, dict(r.params or {}),
                  dict(r.result) if r.result is not None else None, r.error, r.created_at, r.started_at,
                  r.finished_at)


class JobsRepo:
    def __init__(self, store: Store) -> None:
        self._store = store

    def create(self, kind: str, owner: str, params: Mapping[str, Any] | None = None) -> JobRow:
        row = JobRecord(kind=clean_text(kind, "kind", max_len=32), owner=clean_text(owner, "owner", max_len=64),
                        status="queued", progress=0.0, message="queued",
                        params=json_payload(dict(params or {}), "params"), result=None, error=None,
                        created_at=now_utc())
        with self._store.session(write=True) as s:
            s.add(row)
            s.flush()
            return _row(row)

    def update(self, job_id: int, *, status: str | None = None, progress: float | None = None,
               message: str | None = None, result: Mapping[str, Any] | None = None,
               error: str | None = None) -> JobRow:
        if status is not None and status not in JOB_STATUSES:
            raise InputError("status", f"must be one of {', '.join(JOB_STATUSES)}")
        with self._store.session(write=True) as s:
            row = s.get(JobRecord, positive_int(job_id, "job_id"))
            if row is None:
                raise RecordNotFound("job_id", f"no job {job_id}")
            now = now_utc()
            if status is not None:
                row.status = status
                if status == "running" and row.started_at is None:
                    row.started_at = now
                if status in FINISHED:
                    row.finished_at = now
            if progress is not None:
                row.progress = min(max(float(progress), 0.0), 1.0)
            if message is not None:
                row.message = message[:2000]
            if result is not None:
                row.result = json_payload(dict(result), "result")
            if error is not None:
                row.error = error[-4000:]
            s.flush()
            return _row(row)

    def get(self, job_id: int, *, owner: str | None = None) -> JobRow | None:
        with self._store.session() as s:
            row = s.get(JobRecord, positive_int(job_id, "job_id"))
            if row is None or (owner is not None and row.owner != owner):
                return None
            return _row(row)

    def list_jobs(self, *, owner: str | None = None, kind: str | None = None, limit: int = 50) -> list[JobRow]:
        q = select(JobRecord).order_by(JobRecord.id.desc()).limit(positive_int(limit, "limit"))
        if owner is not None:
            q = q.where(JobRecord.owner == owner)
        if kind is not None:
            q = q.where(JobRecord.kind == kind)
        with self._store.session() as s:
            return [_row(r) for r in s.scalars(q)]

    def fail_unfinished(self, reason: str) -> int:
        """Jobs still queued/running from a previous process did not finish: mark them failed."""
        with self._store.session(write=True) as s:
            res = s.execute(update(JobRecord).where(JobRecord.status.in_(("queued", "running")))
                            .values(status="failed", error=reason, message=reason, finished_at=now_utc()))
            return int(res.rowcount or 0)  # type: ignore[attr-defined]
