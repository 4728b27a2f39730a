"""The collection scheduler: follows `plan_runs` on the injected clock.

    sched = Scheduler(clock=clock, bars=feed_manager, store=store, data_dir=settings.data_dir,
                      capture=chart_capture(capture_service))
    task = asyncio.create_task(sched.run(progress=..., cancelled=...))
    sched.snapshot()          # jobs, next run times, last results (GET /api/v1/collection/schedule)

Time is read only from `clock.now_ns()` and waited on with `clock.sleep_until()`, so the replay
clock drives a replayed week through the same loop as a live one.

Rules:
- A capture that would be more than `late_grace_s` late is not taken (the pixels would show a
  later moment than the run names): recorded `missed`. The close run's bars and outcomes are
  still done late (the data does not change), within `catch_up_days`.
- Session-candle captures run as their own tasks: the loop never waits for one. When the previous
  capture of the same symbol and bar size is still running at the next bar close, that candle is
  `skipped` and recorded, so a slow capture never piles up behind the clock.
- Every run is written to the ledger; a restart skips what the ledger (or the snapshots table)
  says already ran.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd

from core.capture.chart import BarsSource
from core.clock import NS, Clock
from core.collection.ledger import RunLedger, RunRecord
from core.collection.outcomes import resolve_due, store_session_bars
from core.collection.plan import (
    DEFAULT_SYMBOLS,
    EXCHANGE_TZ,
    PlannedRun,
    clean_candle_intervals,
    clean_symbols,
    plan_runs,
)
from core.errors import TradeCoachError
from core.market.calendar import calendar_for
from core.store.engine import Store
from core.store.predictions import PredictionsRepo
from core.store.snapshots import SnapshotsRepo

log = logging.getLogger(__name__)

SNAPSHOT_TYPE = {"open": "before", "close": "after", "candle": "session_candle"}
Progress = Callable[[float, str], None]
Cancelled = Callable[[], bool]


@dataclass(frozen=True, slots=True)
class CaptureRequest:
    symbol: str
    snapshot_type: str          # before | after | session_candle
    session_date: date
    at_ns: int                  # the moment the capture stands for (open, close, bar close)
    interval_minutes: int | None = None
    bar_start_ns: int | None = None


# Returns the snapshots row id of the stored capture.
CaptureFn = Callable[[CaptureRequest], Awaitable[int]]


@dataclass(frozen=True)
class CollectionConfig:
    symbols: tuple[str, ...] = DEFAULT_SYMBOLS
    candle_intervals: tuple[int, ...] = ()      # minutes, from 1, 5, 15, 60; empty = no candle captures
    capture_open_close: bool = True
    late_grace_s: float = 120.0
    catch_up_days: int = 3                      # closes missed while stopped are completed this far back
    horizon_days: int = 7                       # how far ahead the plan is kept

    def __post_init__(self) -> None:
        object.__setattr__(self, "symbols", clean_symbols(self.symbols))
        object.__setattr__(self, "candle_intervals", clean_candle_intervals(self.candle_intervals))


@dataclass(frozen=True)
class JobView:
    job: str
    symbol: str
    kind: str
    interval_minutes: int | None
    next_run_utc: str | None
    next_run_exchange: str | None
    last: dict[str, object] | None


@dataclass(frozen=True)
class ScheduleSnapshot:
    running: bool
    clock_utc: str
    symbols: tuple[str, ...]
    candle_intervals: tuple[int, ...]
    jobs: list[JobView]
    counts: dict[str, int]              # runs by status since the ledger began
    capture_tasks: int                  # candle captures in flight

    def to_json(self) -> dict[str, object]:
        return {"running": self.running, "clock_utc": self.clock_utc, "symbols": list(self.symbols),
                "candle_intervals": list(self.candle_intervals), "counts": self.counts,
                "capture_tasks": self.capture_tasks,
                "jobs": [j.__dict__ for j in self.jobs]}


@dataclass
class RunSummary:
    counts: dict[str, int] = field(default_factory=dict)
    cancelled: bool = False


def _iso(ns: int, tz: object = "UTC") -> str:
    return pd.Timestamp(ns, tz="UTC").tz_convert(tz).isoformat()  # type: ignore[arg-type]


class Scheduler:
    def __init__(self, *, clock: Clock, bars: BarsSource, store: Store, data_dir: Path,
                 capture: CaptureFn | None, config: CollectionConfig | None = None) -> None:
        self.clock = clock
        self.bars = bars
        self.config = config or CollectionConfig()
        self.capture = capture
        self.snapshots = SnapshotsRepo(store)
        self.predictions = PredictionsRepo(store)
        self.ledger = RunLedger(data_dir)
        self._pending: list[PlannedRun] = []
        self._planned_to: date | None = None
        self._running = False
        self._waiting = False
        self._candle_tasks: dict[tuple[str, int], asyncio.Task[None]] = {}
        self._captured: dict[tuple[str, date], set[tuple[str, int | None, datetime | None]]] = {}

    # -- the plan ------------------------------------------------------------------------------
    def plan(self, start: date, end: date) -> list[PlannedRun]:
        c = self.config
        # Open and close are always planned: the close's bars and outcomes do not depend on captures.
        return plan_runs(c.symbols, start, end, candle_intervals=c.candle_intervals)

    def _today(self) -> date:
        return pd.Timestamp(self.clock.now_ns(), tz="UTC").tz_convert(EXCHANGE_TZ).date()

    def _extend_plan(self) -> None:
        today = self._today()
        start = today - timedelta(days=self.config.catch_up_days) if self._planned_to is None \
            else self._planned_to + timedelta(days=1)
        end = today + timedelta(days=self.config.horizon_days)
        if start > end:
            return
        fresh = [r for r in self.plan(start, end) if r.key not in self.ledger]
        self._pending = sorted(self._pending + fresh, key=PlannedRun.sort_key)
        self._planned_to = end

    def next_run_ns(self) -> int | None:
        return self._pending[0].at_ns if self._pending else None

    @property
    def captures_in_flight(self) -> int:
        """Candle captures still running."""
        return sum(1 for t in self._candle_tasks.values() if not t.done())

    @property
    def waiting(self) -> bool:
        """True while the loop sleeps until the next run (a replay driver may jump the clock then)."""
        return self._waiting

    # -- the loop ------------------------------------------------------------------------------
    async def run(self, *, until_ns: int | None = None, progress: Progress | None = None,
                  cancelled: Cancelled | None = None) -> RunSummary:
        """Run the plan until `until_ns` (clock time) or until cancelled. Candle captures still in
        flight at the end are awaited so their results are recorded."""
        summary = RunSummary()
        self._running = True
        start_ns = self.clock.now_ns()
        try:
            self._extend_plan()
            while True:
                if cancelled is not None and cancelled():
                    summary.cancelled = True
                    break
                if not self._pending or (self._planned_to is not None and self._today() >= self._planned_to):
                    self._extend_plan()
                if not self._pending:
                    break
                run = self._pending[0]
                if until_ns is not None and run.at_ns > until_ns:
                    await self._sleep_until(until_ns, cancelled)
                    break
                if not await self._sleep_until(run.at_ns, cancelled):
                    summary.cancelled = True
                    break
                self._pending.pop(0)
                await self._execute(run)
                if progress is not None:
                    frac = 0.0 if until_ns is None else min(1.0, (self.clock.now_ns() - start_ns)
                                                            / max(1, until_ns - start_ns))
                    progress(frac, f"{run.job} {run.session_date}: {self.ledger.get(run.key).status}"  # type: ignore[union-attr]
                             if run.key in self.ledger else f"{run.job} {run.session_date}: started")
            await self.drain()
        finally:
            self._running = False
            self._waiting = False
        for rec in self.ledger.records():
            summary.counts[rec.status] = summary.counts.get(rec.status, 0) + 1
        return summary

    async def drain(self) -> None:
        """Wait for candle captures in flight."""
        tasks = [t for t in self._candle_tasks.values() if not t.done()]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _sleep_until(self, ts_ns: int, cancelled: Cancelled | None) -> bool:
        """Sleep on the clock; False when cancelled meanwhile (checked every 0.25 s real time)."""
        if self.clock.now_ns() >= ts_ns:
            return True
        self._waiting = True
        sleeper = asyncio.ensure_future(self.clock.sleep_until(ts_ns))
        try:
            while not sleeper.done():
                await asyncio.wait({sleeper}, timeout=0.25)
                if cancelled is not None and cancelled() and not sleeper.done():
                    sleeper.cancel()
                    return False
            return True
        finally:
            self._waiting = False
            if not sleeper.done():
                sleeper.cancel()

    # -- one run -------------------------------------------------------------------------------
    def _record(self, run: PlannedRun, status: str, detail: str, snapshot_id: int | None = None) -> RunRecord:
        rec = RunRecord(run.key, run.job, run.symbol, run.kind, run.session_date.isoformat(), run.interval_minutes,
                        run.at_ns, self.clock.now_ns(), status, detail, snapshot_id)
        self.ledger.add(rec)
        if status == "failed":
            log.warning("collection %s %s: %s", run.job, run.session_date, detail)
        return rec

    def _already_captured(self, run: PlannedRun) -> bool:
        key = (run.symbol, run.session_date)
        seen = self._captured.get(key)
        if seen is None:
            rows = self.snapshots.list_snapshots(symbol=run.symbol, session_date=run.session_date, limit=10_000)
            seen = self._captured[key] = {(r.snapshot_type, r.interval_minutes, r.bar_time) for r in rows}
        return self._capture_id(run) in seen

    @staticmethod
    def _capture_id(run: PlannedRun) -> tuple[str, int | None, datetime | None]:
        if run.kind == "candle":
            return ("session_candle", run.interval_minutes, _dt(run.bar_start_ns))
        return (SNAPSHOT_TYPE[run.kind], None, None)

    def _request(self, run: PlannedRun) -> CaptureRequest:
        return CaptureRequest(run.symbol, SNAPSHOT_TYPE[run.kind], run.session_date, run.at_ns,
                              run.interval_minutes, run.bar_start_ns)

    async def _capture(self, run: PlannedRun) -> tuple[str, str, int | None]:
        """(status, detail, snapshot id) of the run's capture."""
        if self.capture is None or (not self.config.capture_open_close and run.kind != "candle"):
            return "ok", "capture off", None
        if self._already_captured(run):
            return "ok", "already captured (snapshots row exists)", None
        late_s = (self.clock.now_ns() - run.at_ns) / NS
        if late_s > self.config.late_grace_s:
            return "missed", f"{late_s:.0f} s late; the screen no longer shows that moment", None
        try:
            snap_id = await self.capture(self._request(run))
        except (TradeCoachError, OSError) as exc:
            return "failed", f"capture: {exc}", None
        self._captured.setdefault((run.symbol, run.session_date), set()).add(self._capture_id(run))
        return "ok", "captured", snap_id

    async def _execute(self, run: PlannedRun) -> None:
        if run.kind == "candle":
            self._start_candle(run)
            return
        try:
            if run.kind == "open":
                status, detail, snap = await self._capture(run)
                self._record(run, status, detail, snap)
            else:
                await self._close(run)
        except Exception as exc:  # one broken run must not stop the schedule: record it, log it
            log.exception("collection run %s failed", run.key)
            self._record(run, "failed", f"{type(exc).__name__}: {exc}")

    def _start_candle(self, run: PlannedRun) -> None:
        slot = (run.symbol, int(run.interval_minutes or 0))
        prev = self._candle_tasks.get(slot)
        if prev is not None and not prev.done():
            self._record(run, "skipped", "the previous capture of this bar size is still running")
            return
        late_s = (self.clock.now_ns() - run.at_ns) / NS
        limit = min(self.config.late_grace_s, (run.interval_minutes or 1) * 30.0)
        if late_s > limit:
            self._record(run, "skipped", f"fell behind: {late_s:.0f} s after the bar closed")
            return

        async def _go() -> None:
            try:
                status, detail, snap = await self._capture(run)
                self._record(run, status, detail, snap)
            except Exception as exc:  # a task's error must be recorded and logged, never lost
                log.exception("candle capture %s failed", run.key)
                self._record(run, "failed", f"{type(exc).__name__}: {exc}")

        self._candle_tasks[slot] = asyncio.get_running_loop().create_task(_go(), name=f"candle {run.key}")

    async def _close(self, run: PlannedRun) -> None:
        status, detail, snap = await self._capture(run)
        parts = [f"capture {status}: {detail}"]
        cal = calendar_for(run.symbol)
        o, c = cal.rth_bounds_ns(cal.index_of(run.session_date))
        try:
            n = await store_session_bars(self.snapshots, self.bars, run.symbol, run.session_date, o, c)
            parts.append(f"{n} minute bars stored")
        except (TradeCoachError, OSError) as exc:
            status = "failed"
            parts.append(f"minute bars: {exc}")
        try:
            rep = await resolve_due(self.predictions, self.bars, _dt(self.clock.now_ns()), symbols={run.symbol})
            parts.append(f"predictions: {rep.summary()}")
            if rep.failed:
                status = "failed"
        except (TradeCoachError, OSError) as exc:
            status = "failed"
            parts.append(f"predictions: {exc}")
        if status == "missed":
            status = "ok"  # the capture was too late, but the close's data work is done
        self._record(run, status, "; ".join(parts), snap)

    # -- the view ------------------------------------------------------------------------------
    def snapshot(self) -> ScheduleSnapshot:
        """Jobs with their next run and last result, for the API and the app."""
        nxt: dict[str, PlannedRun] = {}
        for r in self._pending:
            nxt.setdefault(r.job, r)
        last: dict[str, RunRecord] = {}
        counts: dict[str, int] = {}
        for rec in self.ledger.records():
            last[rec.job] = rec
            counts[rec.status] = counts.get(rec.status, 0) + 1
        jobs_order: list[tuple[str, str, int | None]] = []
        for sym in self.config.symbols:
            jobs_order += [(sym, "open", None), (sym, "close", None)]
            jobs_order += [(sym, "candle", n) for n in self.config.candle_intervals]
        jobs = []
        for sym, kind, n in jobs_order:
            job = f"{sym} {kind}" + (f" {n}m" if n else "")
            r = nxt.get(job)
            rec = last.get(job)
            jobs.append(JobView(job, sym, kind, n, _iso(r.at_ns) if r else None,
                                _iso(r.at_ns, EXCHANGE_TZ) if r else None, rec.to_json() if rec else None))
        return ScheduleSnapshot(self._running, _iso(self.clock.now_ns()), self.config.symbols,
                                self.config.candle_intervals, jobs, counts,
                                self.captures_in_flight)


def _dt(ns: int | None) -> datetime | None:
    if ns is None:
        return None
    from core.capture.naming import utc_from_ns

    return utc_from_ns(ns)


def chart_capture(service: object, *, chart_interval: str = "5m") -> CaptureFn:
    """The default capture: the kernel's own chart (theme-stable render) of the bars known at the
    run's moment, stored with the seed's names. `service` is a core.capture.service.CaptureService
    with a bars source; session candles draw bars of their own size, open/close `chart_interval`."""
    from core.capture.service import CaptureService
    from core.errors import InputError
    from core.market.intervals import parse_interval

    if not isinstance(service, CaptureService) or service.bars is None:
        raise InputError("capture", "chart capture needs a CaptureService with a bars source")
    svc: CaptureService = service

    async def _capture(req: CaptureRequest) -> int:
        iv = parse_interval(f"{req.interval_minutes}m" if req.interval_minutes else chart_interval)
        bars = await svc.bars.history(req.symbol, iv, end_ns=req.at_ns)  # type: ignore[union-attr]
        bars = bars.between(None, req.at_ns - iv.ns + 1)   # closed bars only: nothing after the moment
        if not len(bars):
            raise InputError("bars", f"no {iv} bars for {req.symbol} before {_iso(req.at_ns, EXCHANGE_TZ)}")
        res = await asyncio.to_thread(
            svc.chart_from_bars, req.symbol, bars, snapshot_type=req.snapshot_type,
            timestamp=_dt(svc.clock.now_ns()), session_date=req.session_date,
            interval_minutes=req.interval_minutes, bar_time=_dt(req.bar_start_ns))
        return res.snapshot_id

    return _capture


def screen_capture(service: object, *, use_region: bool = True) -> CaptureFn:
    """Scheduled captures of the screen: the saved region when there is one (and use_region),
    else all monitors. The grab runs in a worker thread."""
    from core.capture.service import CaptureService
    from core.errors import InputError

    if not isinstance(service, CaptureService):
        raise InputError("capture", "screen capture needs a CaptureService")
    svc: CaptureService = service

    def _grab(req: CaptureRequest) -> int:
        from core.capture.screen import grab_png
        from core.capture.store import save_png

        region = svc.saved_region() if use_region else None
        ts = _dt(svc.clock.now_ns())
        png, ms = grab_png(region=region)
        res = save_png(svc.repo, svc.data_dir, png, symbol=req.symbol, snapshot_type=req.snapshot_type,
                       timestamp=ts, source="region" if region else "screen",  # type: ignore[arg-type]
                       grab_ms=ms, session_date=req.session_date, interval_minutes=req.interval_minutes,
                       bar_time=_dt(req.bar_start_ns))
        return res.snapshot_id

    async def _capture(req: CaptureRequest) -> int:
        return await asyncio.to_thread(_grab, req)

    return _capture


def tradingview_capture(service: object, session: object, *, chart_interval: str = "15m") -> CaptureFn:
    """Scheduled TradingView captures through one kept browser (core.capture.tradingview
    .TradingViewSession); session candles use their own bar size, open/close `chart_interval`."""
    from core.capture.service import CaptureService
    from core.capture.store import save_png
    from core.capture.tradingview import TradingViewSession
    from core.errors import InputError

    if not isinstance(service, CaptureService) or not isinstance(session, TradingViewSession):
        raise InputError("capture", "TradingView capture needs a CaptureService and a TradingViewSession")
    svc: CaptureService = service
    tv: TradingViewSession = session

    async def _capture(req: CaptureRequest) -> int:
        interval = f"{req.interval_minutes}m" if req.interval_minutes else chart_interval
        ts = _dt(svc.clock.now_ns())
        png, ms = await tv.chart_png(req.symbol, interval)
        res = await asyncio.to_thread(
            save_png, svc.repo, svc.data_dir, png, symbol=req.symbol, snapshot_type=req.snapshot_type,
            timestamp=ts, source="tradingview", grab_ms=ms, session_date=req.session_date,
            interval_minutes=req.interval_minutes, bar_time=_dt(req.bar_start_ns))
        return res.snapshot_id

    return _capture
