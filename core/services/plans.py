"""Plans: scan for setups, list and fetch plans by id and version, change levels (a new version),
follow a plan on the live stream; the scanner's confidence calibration lives here too."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

from core.bus import Bus
from core.errors import InputError
from core.market.intervals import Interval, parse_interval
from core.runtime import KernelRuntime
from core.scanner.evaluate import Calibration
from core.scanner.events import PlanIssued
from core.scanner.plan import Plan, PlanContext, load_plan, save_plan, validate_plan
from core.scanner.scan import ScanResult
from core.scanner.scan import scan as run_scan
from core.services.market import MarketService
from core.store.engine import Store
from core.store.plans import PlansRepo

log = logging.getLogger(__name__)

STYLES = ("scalp", "intraday", "swing", "leaps")
SCAN_HISTORY = 2000  # bars per symbol handed to the detectors


def save_calibration(cal: Calibration, path: Path, *, source: str) -> None:
    """The mapping raw confidence → P(TP1 first) that live scans apply (atomic write)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"source": source, "model": cal.to_dict()}, indent=2))
    tmp.replace(path)


def load_calibration(path: Path) -> Calibration | None:
    if not path.exists():
        return None
    try:
        return Calibration.from_dict(json.loads(path.read_text())["model"])
    except (ValueError, KeyError, TypeError) as exc:
        log.error("calibration file %s is unreadable (%s); confidence stays heuristic", path, exc)
        return None


class PlansService:
    def __init__(self, market: MarketService, store: Store | None, bus: Bus, runtime: KernelRuntime,
                 data_dir: Path) -> None:
        self._market, self._store, self._bus, self._rt = market, store, bus, runtime
        self._data_dir = data_dir

    @property
    def calibration_path(self) -> Path:
        """Where `eval-scanner --save-calibration` writes and live scans read (user calibration)."""
        return self._data_dir / "scanner_calibration.json"

    def _repo(self) -> PlansRepo | None:
        return PlansRepo(self._store) if self._store is not None else None

    async def scan(self, symbols: list[str] | None = None, interval: Interval | str = "5m",
                   style: str = "intraday", playbooks: list[str] | None = None) -> ScanResult:
        """Every playbook on the latest bar of each symbol; triggered plans are stored (idempotent:
        the same setup on the same bar keeps its id and version) and announced on the bus."""
        if style not in STYLES:
            raise InputError("style", f"must be one of {', '.join(STYLES)}")
        iv = parse_interval(interval)
        names = [s.strip().upper() for s in (symbols or self._market.symbols()) if s.strip()]
        if not names:
            raise InputError("symbols", "no symbols to scan")
        series = {}
        for sym in names:
            bars = await self._market.bars(sym, iv, limit=SCAN_HISTORY)
            if len(bars):
                series[sym] = bars
        if not series:
            raise InputError("symbols", f"no bars for {', '.join(names)}")
        calibration = await self._rt.run_io(load_calibration, self.calibration_path)
        ctx = PlanContext.with_caches(style, calibration)
        result = await self._rt.run_cpu(lambda: run_scan(series, iv, style=style, playbooks=playbooks, ctx=ctx))
        repo = self._repo()
        if repo is not None and result.plans:
            saved = await self._rt.run_io(lambda: [save_plan(repo, p) for p in result.plans])
            result = ScanResult(tuple(saved), result.rejected, result.symbols)
        for plan in result.plans:
            self._bus.publish(PlanIssued(plan, "scan"))
        return result

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
