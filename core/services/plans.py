"""Plans: scan for setups in play (triggered, armed, forming — with the reason when none), list and
fetch plans by id and version, change levels (a new version), and live rescans on every bar close
of the watchlist's scan interval with the changes published on the bus; the confidence
calibration's refit on the user's own bars as a job (`refit_calibration`, kind
"scanner-calibration": the window's Jobs button and POST /api/v1/scanner/calibration/refit)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from pathlib import Path

from core.bus import Bus, Subscription
from core.errors import DataError, InputError
from core.events import BarClosed
from core.jobs import JobContext, JobInfo, JobManager
from core.market.bars import Bars
from core.market.intervals import M1, Interval, parse_interval
from core.runtime import KernelRuntime
from core.scanner.calibration import default_calibration, fit_calibration, load_calibration, save_calibration
from core.scanner.evaluate import Calibration
from core.scanner.events import FollowerEvent, PlanIssued, SetupChanged
from core.scanner.follower import FollowState, PlanFollower
from core.scanner.live_process import LiveScanProcess
from core.scanner.plan import Plan, PlanContext, load_plan, save_plan, validate_plan
from core.scanner.setups import Candidate, ScanReport, SetupState, scan_setups
from core.services.market import MarketService, StreamHandle
from core.store.engine import Store
from core.store.plans import PlansRepo
from core.tasks import spawn

log = logging.getLogger(__name__)

STYLES = ("scalp", "intraday", "swing", "leaps")
SCAN_HISTORY = 2000  # bars per symbol handed to the detectors
CALIBRATION_KIND = "scanner-calibration"


class PlansService:
    def __init__(self, market: MarketService, store: Store | None, bus: Bus, runtime: KernelRuntime,
                 data_dir: Path, jobs: JobManager | None = None) -> None:
        self._market, self._store, self._bus, self._rt = market, store, bus, runtime
        self._jobs = jobs
        self._data_dir = data_dir
        self._live: _Live | None = None
        self._live_lock = asyncio.Lock()
        self._live_seq = 0
        self._live_proc = LiveScanProcess()
        self._followers: dict[str, tuple[PlanFollower, StreamHandle, Subscription]] = {}
        self._watches: dict[str, _Watch] = {}        # would-be plan id → an armed setup followed
        self._watch_sub: Subscription | None = None

    @property
    def calibration_path(self) -> Path:
        """Where `eval-scanner --save-calibration` writes and live scans read (user calibration)."""
        return self._data_dir / "scanner_calibration.json"

    def _repo(self) -> PlansRepo | None:
        return PlansRepo(self._store) if self._store is not None else None

    def refit_path(self, interval: Interval | str) -> Path:
        """Where the refit job writes the user's calibration for one scan interval (the shipped
        ones stay in resources/calibration as the defaults)."""
        return self._data_dir / "calibration" / f"scanner_{parse_interval(interval).name}.json"

    def calibration_for(self, interval: Interval | str) -> Calibration | None:
        """The user's refit for this interval (the refit job) when there is one, else the user's own
        file (eval-scanner --save-calibration), else the calibration shipped for this interval,
        else None (heuristic confidence). Candidates name the one used (`calibration`)."""
        for path in (self.refit_path(interval), self.calibration_path):
            if path.exists():
                try:
                    return load_calibration(path)
                except DataError as exc:
                    log.error("%s; trying the next calibration", exc)
        return default_calibration(interval)

    async def refit_calibration(self, symbol: str, interval: Interval | str = "5m", *, style: str = "intraday",
                                owner: str = "local") -> JobInfo:
        """Refit the confidence calibration on the user's bars of `symbol` at `interval` as a job, one
        at a time: the bars imported into the store when there are any, else the feed's history
        (collected or replayed). The job walks the history without look-ahead, fits,
        writes `refit_path(interval)` and returns the file, the plans it was fitted on and the
        reliability (ECE) on the held-out last 40 % of the sessions; scans of that interval use it
        from then on (a live watch on it restarts with it)."""
        if style not in STYLES:
            raise InputError("style", f"must be one of {', '.join(STYLES)}")
        iv = parse_interval(interval)
        if iv.is_daily:
            raise InputError("interval", "the scanner needs intraday bars (1m … 4h), got daily")
        sym = symbol.strip().upper()
        if not sym:
            raise InputError("symbol", "is required")
        if self._jobs is None:
            raise InputError("jobs", "the job manager is not running")
        await self._check_refit_source(sym, iv)

        async def runner(ctx: JobContext) -> dict[str, object]:
            ctx.progress(0.02, f"loading {sym} {iv.name} bars")
            bars, origin = await self._refit_bars(sym, iv)
            if not len(bars):
                raise InputError("symbol", f"no imported or feed {iv.name} bars for {sym}")
            ctx.check()
            ctx.progress(0.1, f"walking {len(bars):,} {iv.name} bars of {sym} without look-ahead")
            cal = await self._rt.run_cpu(fit_calibration, bars, sym, iv, style=style)
            ctx.check()
            cal = replace(cal, source=f"refit {cal.source}")
            path = await self._rt.run_io(save_calibration, cal, self.refit_path(iv))
            ece = (cal.provenance.get("holdout") or {}).get("ece")
            # The job's final message (the Jobs panel shows it): the file and its held-out reliability.
            ctx.progress(0.95, f"saved {path.name}: {cal.provenance.get('plans')} plans, held-out ECE "
                               + ("n/a" if ece is None else f"{ece:.3f}"))
            await self._reload_live(iv)
            return {"path": str(path), "source": cal.source, "bars": origin, "symbol": sym, "interval": iv.name,
                    "style": style,
                    "plans": cal.provenance.get("plans"), "sessions": cal.provenance.get("sessions"),
                    "hit_rate": cal.provenance.get("hit_rate"), "ece": ece}

        return await self._jobs.submit(CALIBRATION_KIND, runner, owner=owner, exclusive=True,
                                       params={"symbol": sym, "interval": iv.name, "style": style})

    async def _check_refit_source(self, sym: str, iv: Interval) -> None:
        """Refused before a job starts: no imported bars of `sym` at `iv` and a replay feed without it."""
        if self._market.vendor_mode:
            return   # a vendor feed answers for any symbol it lists; the job says when it has none
        if sym in self._market.symbols():
            return
        if self._store is not None:
            from core.store import ImportedBarsRepo

            store = self._store
            cov = await self._rt.run_io(lambda: ImportedBarsRepo(store).coverage(sym))
            if any(c.interval == iv.name and c.count for c in cov):
                return
        raise InputError("symbol", f"no imported {iv.name} bars of {sym} and the replay feed has none "
                                   f"(import a bar file first: `import-bars FILE --symbol {sym}`)")

    async def _refit_bars(self, sym: str, iv: Interval) -> tuple[Bars, str]:
        """(bars, where they came from): the store's imported bars first, else the feed's."""
        if self._store is not None:
            from core.store import ImportedBarsRepo

            store = self._store
            bars = await self._rt.run_io(lambda: ImportedBarsRepo(store).load(sym, iv))
            if len(bars):
                return bars, f"imported ({len(bars):,} bars)"
        bars = await self._market.history(sym, iv)
        return bars, f"feed {self._market.status().source} ({len(bars):,} bars)"

    async def _reload_live(self, iv: Interval) -> None:
        """A live watch on `iv` restarts so its worker scans with the new calibration."""
        live = self._live
        if live is not None and live.interval == iv:
            await self.start_live(list(live.series), iv, live.style)

    async def scan(self, symbols: list[str] | None = None, interval: Interval | str = "5m",
                   style: str = "intraday", playbooks: list[str] | None = None) -> ScanReport:
        """Every playbook's setup state for every symbol at its latest bar, ranked; a symbol the feed
        cannot serve gets a row saying why. Triggered plans are stored (idempotent: the same setup on
        the same bar keeps its id and version) and announced on the bus."""
        if style not in STYLES:
            raise InputError("style", f"must be one of {', '.join(STYLES)}")
        iv = parse_interval(interval)
        names = list(dict.fromkeys(s.strip().upper() for s in (symbols or self._market.symbols()) if s.strip()))
        if not names:
            raise InputError("symbols", "no symbols to scan")
        series: dict[str, Bars] = {}
        missing: dict[str, str] = {}
        for sym in names:
            try:
                bars = await self._market.bars(sym, iv, limit=SCAN_HISTORY)
            except InputError as exc:
                missing[sym] = exc.reason
                continue
            if len(bars):
                series[sym] = bars
            else:
                missing[sym] = f"no {iv.name} bars"
        if not series:
            raise InputError("symbols", "; ".join(f"{k}: {v}" for k, v in missing.items()))
        calibration = await self._rt.run_io(self.calibration_for, iv)
        ctx = PlanContext.with_caches(style, calibration)
        now_ns = self._market.clock.now_ns()
        report = await self._rt.run_cpu(scan_setups, series, iv, style=style, playbooks=playbooks, ctx=ctx,
                                        now_ns=now_ns)
        if missing:
            report = replace(report, warnings=(*report.warnings,
                                               *(f"{k}: {v}" for k, v in missing.items())))
        return await self._store_triggered(report, "scan")

    async def _store_triggered(self, report: ScanReport, reason: str) -> ScanReport:
        plans = [c.plan for c in report.candidates if c.state is SetupState.TRIGGERED and c.plan is not None]
        repo = self._repo()
        if repo is not None and plans:
            saved = await self._rt.run_io(lambda: {p.plan_id: save_plan(repo, p) for p in plans})
            report = replace(report, candidates=tuple(
                replace(c, plan=saved.get(c.plan.plan_id, c.plan)) if c.plan is not None
                and c.state is SetupState.TRIGGERED else c for c in report.candidates))
            plans = list(saved.values())
        for plan in plans:
            self._bus.publish(PlanIssued(plan, reason))
        return report

    # -- following a plan ---------------------------------------------------------------------------
    async def follow(self, plan_id: str) -> Plan:
        """Arm a plan: follow it on the live (or replayed) 1-minute stream — entry, stop warnings,
        targets, trail, exit — publishing each step as a `FollowerEvent`."""
        plan = await self.get(plan_id)
        if plan.plan_id in self._followers:
            return plan
        follower = PlanFollower(plan, bus=self._bus)
        handle = await self._market.subscribe(plan.symbol, "1m")
        sym = plan.symbol

        def on_close(event: BarClosed) -> None:
            if event.symbol == sym and event.interval == M1 and event.bar.ts >= plan.bar_ts:
                follower.on_bar(event.bar)
                if follower.state == FollowState.EXITED:
                    spawn(self.unfollow(plan.plan_id), name=f"plans:unfollow:{plan.plan_id}")

        sub = self._bus.subscribe(BarClosed, on_close, name=f"plans:follow:{plan.plan_id}")
        self._followers[plan.plan_id] = (follower, handle, sub)
        return plan

    async def follow_armed(self, plan: Plan) -> str:
        """Arm an armed setup (its would-be `plan`, not stored): the live rescans of the watchlist
        watch it; when it triggers, a `FollowerEvent` "triggered" names the stored plan
        (`next_plan_id`), which is followed from then on like any armed plan; when it disarms (the
        structure is gone) a "disarmed" event says why and the watch ends. Returns the watch id (the
        would-be plan's id). The setup must be armed in the live watch now."""
        live, now = self._live_candidate(plan.symbol, plan.playbook)
        if plan.interval != live.interval.name:
            raise InputError("interval", f"the live watch scans {live.interval.name}, this setup is {plan.interval}")
        if now.state is SetupState.TRIGGERED and now.plan is not None:
            await self.follow(now.plan.plan_id)   # it triggered meanwhile: follow the plan itself
            return now.plan.plan_id
        if now.state is not SetupState.ARMED:
            raise InputError("playbook", f"no armed {plan.playbook} setup on {plan.symbol} now "
                                         f"({now.state.value}: {now.missing})")
        self._watches[plan.plan_id] = _Watch(plan, live.interval.name)
        if self._watch_sub is None:
            self._watch_sub = self._bus.subscribe(SetupChanged, self._on_setup_changed, name="plans:armed-watch")
        return plan.plan_id

    async def follow_setup(self, symbol: str, playbook: str) -> str:
        """`follow_armed` by name (the GPT knows the scan's symbol and playbook): an armed setup is
        watched, a triggered one's plan followed. Returns the id followed."""
        _live, now = self._live_candidate(symbol.strip().upper(), playbook.strip())
        if now.plan is None:
            raise InputError("playbook", f"the {now.playbook} setup on {now.symbol} has no plan yet "
                                         f"({now.state.value}: {now.missing})")
        return await self.follow_armed(now.plan)

    def _live_candidate(self, sym: str, playbook: str) -> tuple[_Live, Candidate]:
        """The live watch and its current candidate of `playbook` on `sym` (InputError naming why not)."""
        live = self._live
        if live is None or sym not in live.series:
            raise InputError("symbol", f"{sym} is not in the live watch: add it to the watchlist to follow "
                                       "its setups")
        now = next((c for c in (live.report.candidates if live.report else ())
                    if c.symbol == sym and c.playbook == playbook), None)
        if now is None:
            raise InputError("playbook", f"no {playbook} setup on {sym} now")
        return live, now

    async def _on_setup_changed(self, event: SetupChanged) -> None:
        ch = event.change
        for wid, w in list(self._watches.items()):
            if (w.plan.symbol, w.plan.playbook, w.interval) != (ch.symbol, ch.playbook, event.interval):
                continue
            cand = ch.candidate
            if ch.kind == "triggered" and cand is not None and cand.plan is not None:
                del self._watches[wid]
                new = cand.plan
                try:
                    await self.follow(new.plan_id)
                except (InputError, DataError) as exc:   # e.g. no database: the plan cannot be loaded
                    log.error("armed setup %s triggered as plan %s but cannot be followed: %s", wid, new.plan_id, exc)
                    self._publish_watch(w, "disarmed", new.bar_ts, new.entry, f"triggered, not followed: {exc}")
                    continue
                self._publish_watch(w, "triggered", new.bar_ts, new.entry, f"plan {new.plan_id}", new.plan_id)
            elif ch.kind == "disarmed":
                del self._watches[wid]
                price = cand.plan.entry if cand is not None and cand.plan is not None else w.plan.entry
                self._publish_watch(w, "disarmed", cand.bar_ts if cand is not None else 0, price,
                                    ch.detail or "the setup is no longer armed")

    def _publish_watch(self, w: _Watch, kind: str, ts: int, price: float, detail: str, next_id: str = "") -> None:
        state = "planned" if kind == "triggered" else "exited"
        self._bus.publish(FollowerEvent(w.plan.plan_id, kind, state, ts or self._market.clock.now_ns(), price,
                                        detail, 0, next_id))

    def _end_watches(self, why: str, keep: set[str] | None = None, interval: str | None = None) -> None:
        """Watches whose symbol or interval left the live watch end with a "disarmed" event saying why."""
        for wid, w in list(self._watches.items()):
            if keep is None or w.plan.symbol not in keep or w.interval != interval:
                del self._watches[wid]
                self._publish_watch(w, "disarmed", 0, w.plan.entry, why)

    async def unfollow(self, plan_id: str) -> None:
        """Disarm: stop following (idempotent) — a plan or an armed setup's watch."""
        if self._watches.pop(plan_id, None) is not None:
            return
        entry = self._followers.pop(plan_id, None)
        if entry is not None:
            _follower, handle, sub = entry
            sub.cancel()
            handle.release()

    async def close(self) -> None:
        """Stop live rescans and every follower (kernel shutdown)."""
        await self.stop_live()
        self._live_proc.close()
        self._watches.clear()
        if self._watch_sub is not None:
            self._watch_sub.cancel()
            self._watch_sub = None
        for pid in list(self._followers):
            await self.unfollow(pid)

    def following(self) -> dict[str, str]:
        """Followed plan id → its follower state (planned, entered, scaled, trailing, exited); a
        followed armed setup's would-be plan id → "armed"."""
        return {**{wid: "armed" for wid in self._watches},
                **{pid: f.state.value for pid, (f, _h, _s) in self._followers.items()}}

    # -- live rescans -----------------------------------------------------------------------------
    async def start_live(self, symbols: list[str], interval: Interval | str = "5m", style: str = "intraday") -> None:
        """Rescan `symbols` on every bar close of `interval` — only the symbols whose bar closed —
        and publish each change (new armed, armed → triggered, triggered → invalidated) as
        `SetupChanged`; triggered plans are stored once per setup. The scanner runs in its own
        worker process (core/scanner/live_process.py): it never holds the GUI's GIL."""
        iv = parse_interval(interval)
        if style not in STYLES:
            raise InputError("style", f"must be one of {', '.join(STYLES)}")
        names = list(dict.fromkeys(s.strip().upper() for s in symbols if s.strip()))
        if not names:
            raise InputError("symbols", "no symbols to watch")
        async with self._live_lock:  # overlapping restarts (watchlist edits) run one after the other
            await self._stop_live()
            calibration = await self._rt.run_io(self.calibration_for, iv)
            series = {sym: await self._market.bars(sym, iv, limit=SCAN_HISTORY) for sym in names}
            self._live_seq += 1
            live = _Live(f"watch-{self._live_seq}", iv, style, calibration, series,
                         [await self._market.subscribe(sym, iv) for sym in names])
            report, _changes, _fresh = await self._live_proc.update(live.key, iv, style, calibration, series, None,
                                                                    None)  # the baseline: no changes yet
            live.report = report
            live.sub = self._bus.subscribe(BarClosed, self._on_close, name="plans:live-rescan")
            self._live = live
            self._end_watches(f"no longer in the live watch ({iv.name})", keep=set(names),
                                    interval=iv.name)

    async def stop_live(self) -> None:
        async with self._live_lock:
            await self._stop_live()
        self._end_watches("live rescans stopped")

    async def _stop_live(self) -> None:
        live, self._live = self._live, None
        if live is None:
            return
        if live.sub is not None:
            live.sub.cancel()
        for h in live.handles:
            h.release()
        await self._live_proc.drop(live.key)

    @property
    def live_report(self) -> ScanReport | None:
        return self._live.report if self._live is not None else None

    def _on_close(self, event: BarClosed) -> None:
        live = self._live
        if live is None or event.interval != live.interval or event.symbol not in live.series:
            return
        try:
            live.series[event.symbol] = live.series[event.symbol].upsert(event.bar)
        except DataError:
            log.warning("live rescan: out-of-order %s bar; reloading its history", event.symbol)
            live.stale.add(event.symbol)
        live.closed.add(event.symbol)
        if live.task is None or live.task.done():
            live.task = spawn(self._rescan(live), name="plans:rescan")

    async def _rescan(self, live: _Live) -> None:
        while live.closed and self._live is live:
            closed, live.closed = set(live.closed), set()
            for sym in list(live.stale):
                live.series[sym] = await self._market.bars(sym, live.interval, limit=SCAN_HISTORY)
                live.stale.discard(sym)
            now_ns = self._market.clock.now_ns()
            report, changes, fresh = await self._live_proc.update(
                live.key, live.interval, live.style, live.calibration, live.series, sorted(closed), now_ns)
            live.report = report
            if fresh:  # a new worker rebuilt its state: a full scan, not a list of changes
                continue
            triggered = replace(report, candidates=tuple(
                ch.candidate for ch in changes if ch.kind == "triggered" and ch.candidate is not None))
            if triggered.candidates:
                await self._store_triggered(triggered, "live rescan")
            for ch in changes:
                self._bus.publish(SetupChanged(ch, live.interval.name))

    async def get(self, plan_id: str, version: int | None = None) -> Plan:
        repo = self._need_repo()
        plan = await self._rt.run_io(load_plan, repo, plan_id, version)
        if plan is None:
            from core.store.validation import RecordNotFound

            raise RecordNotFound("plan_id", f"no plan {plan_id}" + (f" version {version}" if version else ""))
        return plan

    async def versions(self, plan_id: str) -> list[int]:
        repo = self._need_repo()
        return await self._rt.run_io(repo.versions, plan_id)

    async def recent(self, symbol: str | None = None, limit: int = 50) -> list[Plan]:
        repo = self._need_repo()
        rows = await self._rt.run_io(lambda: repo.recent(symbol=symbol, limit=limit))
        return [Plan.from_dict({**r.payload, "version": r.version}) for r in rows]

    async def update_levels(self, plan_id: str, *, entry: float | None = None, stop: float | None = None,
                            targets: list[float] | None = None) -> Plan:
        """Move entry, stop or targets: validated (stop/entry/target order, R:R) and stored as a new version."""
        plan = await self.get(plan_id)
        e = float(entry) if entry is not None else plan.entry
        st = float(stop) if stop is not None else plan.stop
        tps = tuple(float(t) for t in targets) if targets is not None else plan.targets
        risk = abs(e - st)
        if risk <= 0:
            raise InputError("stop", "must differ from the entry")
        changed = replace(plan, entry=e, stop=st, targets=tps, rr=tuple(abs(t - e) / risk for t in tps),
                          target_labels=tuple(plan.target_labels[:len(tps)])
                          + (None,) * max(0, len(tps) - len(plan.target_labels)))
        validate_plan(changed)
        repo = self._need_repo()
        saved = await self._rt.run_io(save_plan, repo, changed)
        self._bus.publish(PlanIssued(saved, "update"))
        return saved

    def _need_repo(self) -> PlansRepo:
        repo = self._repo()
        if repo is None:
            raise InputError("store", "the database is not open")
        return repo


class _Live:
    """The state of one live watchlist scan (the scanner's own state is in the worker process)."""

    def __init__(self, key: str, interval: Interval, style: str, calibration: Calibration | None,
                 series: dict[str, Bars], handles: list[StreamHandle]) -> None:
        self.key, self.interval, self.style, self.calibration = key, interval, style, calibration
        self.series, self.handles = series, handles
        self.report: ScanReport | None = None
        self.sub: Subscription | None = None
        self.closed: set[str] = set()
        self.stale: set[str] = set()
        self.task: asyncio.Task[None] | None = None


@dataclass(frozen=True, slots=True)
class _Watch:
    """An armed setup followed until it triggers or disarms."""

    plan: Plan       # its would-be plan (the watch's id is the plan's id)
    interval: str    # the live watch's scan interval
