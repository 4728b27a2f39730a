"""One job manager for all long work: training, evaluations, large scans, captures, collection runs.

A job is a coroutine `runner(ctx) -> dict` started on the kernel loop. It reports progress through
its `JobContext` (thread-safe, so a worker thread or a child process reader may call it) and checks
`ctx.cancelled` between steps; cancelling also cancels the task, so a runner awaiting something is
interrupted there. Every state change is persisted (jobs table) and published as `JobProgress`.

Life cycle: queued → running → succeeded | failed | cancelled. Jobs left queued/running by a
previous process are marked failed ("interrupted: the app stopped") at start-up.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from core.bus import Bus
from core.errors import ConflictError, DataError, InputError, TradeCoachError
from core.events import JobProgress
from core.runtime import KernelRuntime
from core.store.engine import Store
from core.store.validation import RecordNotFound
from core.tasks import spawn

log = logging.getLogger(__name__)

PERSIST_EVERY_S = 0.5  # progress rows are written at most this often (events go out every time)


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


@dataclass(frozen=True, slots=True)
class JobInfo:
    id: int
    kind: str
    owner: str
    status: JobStatus
    progress: float
    message: str
    params: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {"job_id": self.id, "kind": self.kind, "owner": self.owner, "status": self.status.value,
                "progress": round(self.progress, 4), "message": self.message, "params": self.params,
                "result": self.result, "error": self.error, "created_at": _iso(self.created_at),
                "started_at": _iso(self.started_at), "finished_at": _iso(self.finished_at)}


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t is not None else None


class JobCancelled(TradeCoachError):
    """Raised by a runner (or ctx.check()) when the job was cancelled."""


class JobContext:
    """What a running job sees: its id, progress reporting and the cancel flag."""

    def __init__(self, manager: JobManager, job_id: int, kind: str) -> None:
        self.job_id, self.kind = job_id, kind
        self._m = manager
        self._cancel = threading.Event()
        self._last_persist = 0.0
        self.cancel_grace_s = 5.0
        self.fraction = 0.0
        self.message = ""

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def mark_cancelled(self) -> None:
        """The work stopped early on request (e.g. the trainer honoured a cancel on its own)."""
        self._cancel.set()

    def check(self) -> None:
        """Raise JobCancelled if the job was cancelled (call between steps)."""
        if self._cancel.is_set():
            raise JobCancelled(f"job {self.job_id} cancelled")

    def progress(self, fraction: float, message: str) -> None:
        """Report progress 0–1 with a message; safe from any thread."""
        self.fraction = min(max(float(fraction), 0.0), 1.0)
        self.message = message
        now = time.monotonic()
        persist = now - self._last_persist >= PERSIST_EVERY_S
        if persist:
            self._last_persist = now
        self._m._progress(self, persist)


Runner = Callable[[JobContext], Awaitable[Mapping[str, Any] | None]]


class JobManager:
    def __init__(self, bus: Bus, runtime: KernelRuntime, store: Store | None = None) -> None:
        self._bus = bus
        self._rt = runtime
        self._store = store
        self._running: dict[int, tuple[JobContext, asyncio.Task[None]]] = {}
        self._memory: dict[int, JobInfo] = {}  # when no store is attached (tests of runners)
        self._next_id = 1

    def attach_store(self, store: Store) -> None:
        self._store = store

    def _repo(self) -> Any:
        from core.store.jobs import JobsRepo

        return JobsRepo(self._store) if self._store is not None else None

    async def start(self) -> None:
        repo = self._repo()
        if repo is not None:
            n = await self._rt.run_io(repo.fail_unfinished, "interrupted: the app stopped before it finished")
            if n:
                log.warning("jobs: %d job(s) from a previous run were left unfinished; marked failed", n)

    # -- requests ------------------------------------------------------------------------------------
    async def submit(self, kind: str, runner: Runner, *, owner: str = "local",
                     params: Mapping[str, Any] | None = None, exclusive: bool = False,
                     cancel_grace_s: float = 5.0) -> JobInfo:
        """Start a job now; with `exclusive`, refuse while another job of the same kind runs.
        `cancel_grace_s`: how long a cancelled job may take to stop on its own (training finishes
        its step and writes a checkpoint) before it is interrupted."""
        if exclusive:
            for ctx, _task in self._running.values():
                if ctx.kind == kind:
                    raise ConflictError(f"{kind}: already running (job {ctx.job_id})")
        info = await self._create(kind, owner, dict(params or {}))
        ctx = JobContext(self, info.id, kind)
        ctx.cancel_grace_s = cancel_grace_s
        task = spawn(self._run(ctx, runner), name=f"job:{kind}:{info.id}")
        self._running[info.id] = (ctx, task)
        return info

    async def cancel(self, job_id: int, *, owner: str | None = None) -> JobInfo:
        """Ask a running job to stop; returns at once (the job ends as cancelled shortly after).
        A cooperative runner stops at its next step; one that has not stopped after its grace
        period (`submit(..., cancel_grace_s=)`) is interrupted."""
        info = await self.get(job_id, owner=owner)
        entry = self._running.get(job_id)
        if entry is None:
            raise InputError("job_id", f"job {job_id} is not running (status {info.status.value})")
        ctx, task = entry
        if not ctx.cancelled:
            ctx.mark_cancelled()
            ctx.progress(ctx.fraction, "cancelling…")
            spawn(self._force_cancel(task, ctx), name=f"job-cancel:{job_id}")
        return await self.get(job_id, owner=owner)

    async def _force_cancel(self, task: asyncio.Task[None], ctx: JobContext) -> None:
        done, _ = await asyncio.wait({task}, timeout=ctx.cancel_grace_s)
        if not done:
            log.warning("job %s did not stop within %.0f s of its cancel; interrupting it", ctx.job_id,
                        ctx.cancel_grace_s)
            task.cancel()

    async def get(self, job_id: int, *, owner: str | None = None) -> JobInfo:
        repo = self._repo()
        if repo is None:
            info = self._memory.get(job_id)
            if info is None or (owner is not None and info.owner != owner):
                raise RecordNotFound("job_id", f"no job {job_id}")
            return info
        row = await self._rt.run_io(repo.get, job_id, owner=owner)
        if row is None:
            raise RecordNotFound("job_id", f"no job {job_id}")
        return _info(row)

    async def list(self, *, owner: str | None = None, kind: str | None = None, limit: int = 50) -> list[JobInfo]:
        repo = self._repo()
        if repo is None:
            rows = [i for i in sorted(self._memory.values(), key=lambda i: -i.id)
                    if (owner is None or i.owner == owner) and (kind is None or i.kind == kind)]
            return rows[:limit]
        return [_info(r) for r in await self._rt.run_io(repo.list_jobs, owner=owner, kind=kind, limit=limit)]

    def running(self, kind: str | None = None) -> list[int]:
        return [jid for jid, (ctx, _t) in self._running.items() if kind is None or ctx.kind == kind]

    async def wait(self, job_id: int, timeout: float | None = None) -> JobInfo:
        entry = self._running.get(job_id)
        if entry is not None:
            await asyncio.wait({entry[1]}, timeout=timeout)
        return await self.get(job_id)

    async def stop(self, timeout: float = 3.0) -> None:
        """Cancel every running job (bounded wait); their rows end as cancelled."""
        entries = list(self._running.values())
        for ctx, task in entries:
            ctx._cancel.set()
            task.cancel()
        if entries:
            await asyncio.wait([t for _c, t in entries], timeout=timeout)

    # -- internals --------------------------------------------------------------------------------
    async def _create(self, kind: str, owner: str, params: dict[str, Any]) -> JobInfo:
        repo = self._repo()
        if repo is not None:
            return _info(await self._rt.run_io(repo.create, kind, owner, params))
        from core.store.validation import now_utc

        info = JobInfo(self._next_id, kind, owner, JobStatus.QUEUED, 0.0, "queued", params, None, None,
                       now_utc(), None, None)
        self._next_id += 1
        self._memory[info.id] = info
        return info

    async def _update(self, job_id: int, **fields: Any) -> None:
        repo = self._repo()
        if repo is not None:
            await self._rt.run_io(lambda: repo.update(job_id, **fields))
            return
        from dataclasses import replace

        from core.store.validation import now_utc

        info = self._memory[job_id]
        status = JobStatus(fields["status"]) if "status" in fields else info.status
        now = now_utc()
        self._memory[job_id] = replace(
            info, status=status, progress=fields.get("progress", info.progress),
            message=fields.get("message", info.message), result=fields.get("result", info.result),
            error=fields.get("error", info.error),
            started_at=info.started_at or (now if status == JobStatus.RUNNING else None),
            finished_at=now if status.finished else info.finished_at)

    def _publish(self, ctx: JobContext, status: JobStatus, error: str | None = None) -> None:
        self._bus.publish(JobProgress(str(ctx.job_id), ctx.kind, ctx.fraction, ctx.message,
                                      done=status.finished, error=error, status=status.value))

    def _progress(self, ctx: JobContext, persist: bool) -> None:
        self._publish(ctx, JobStatus.RUNNING)
        if persist:
            coro = self._update(ctx.job_id, progress=ctx.fraction, message=ctx.message)
            if self._rt.on_loop_thread():
                spawn(coro, name=f"job-progress:{ctx.job_id}")
            else:
                self._rt.submit(coro)

    async def _run(self, ctx: JobContext, runner: Runner) -> None:
        try:
            ctx.message = "running"
            await self._update(ctx.job_id, status="running", message="running")
            self._publish(ctx, JobStatus.RUNNING)
            result = await runner(ctx)
            if ctx.cancelled:  # the runner stopped early on request and says what it had done
                if not ctx.message.startswith("cancelled"):
                    ctx.message = f"cancelled at {ctx.fraction:.0%}" + (f" ({ctx.message})" if ctx.message else "")
                await self._finish(ctx, JobStatus.CANCELLED, message=ctx.message, result=dict(result or {}))
                return
        except (asyncio.CancelledError, JobCancelled):
            ctx.message = f"cancelled at {ctx.fraction:.0%}" + (f" ({ctx.message})" if ctx.message else "")
            await self._finish(ctx, JobStatus.CANCELLED, message=ctx.message)
        except Exception as exc:
            err = str(exc) if isinstance(exc, TradeCoachError) else f"{type(exc).__name__}: {exc}"
            if isinstance(exc, InputError | DataError):   # the user's input or data: the reason, no traceback
                log.error("job %s (%s) failed: %s", ctx.job_id, ctx.kind, err)
            else:
                log.error("job %s (%s) failed", ctx.job_id, ctx.kind, exc_info=exc)
            await self._finish(ctx, JobStatus.FAILED, message="failed", error=err)
        else:
            await self._finish(ctx, JobStatus.SUCCEEDED, message=ctx.message or "done",
                               result=dict(result or {}), fraction=1.0)
        finally:
            self._running.pop(ctx.job_id, None)

    async def _finish(self, ctx: JobContext, status: JobStatus, *, message: str, error: str | None = None,
                      result: dict[str, Any] | None = None, fraction: float | None = None) -> None:
        if fraction is not None:
            ctx.fraction = fraction
        ctx.message = message
        fields: dict[str, Any] = {"status": status.value, "message": message, "progress": ctx.fraction}
        if error is not None:
            fields["error"] = error
        if result is not None:
            fields["result"] = result
        try:
            await asyncio.shield(self._update(ctx.job_id, **fields))
        except Exception:
            log.exception("jobs: could not record the end of job %s", ctx.job_id)
        self._publish(ctx, status, error)


def _info(row: Any) -> JobInfo:
    return JobInfo(row.id, row.kind, row.owner, JobStatus(row.status), row.progress, row.message, row.params,
                   row.result, row.error, row.created_at, row.started_at, row.finished_at)
