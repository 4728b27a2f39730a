"""The coach's routes (TC's surface): scan, plan, context, multi-context, contracts, chart-url,
health, and plans by id. Field names follow the GPT's (shared/REFERENCE.md)."""


import hashlib
import json
import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, is_dataclass, replace
from datetime import date, datetime
from enum import Enum
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

import numpy as np
from fastapi import Depends, FastAPI, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from core.api.auth import LOCAL_USER, Principal
from core.api.settings import MAX_RESPONSE_CHARS
from core.errors import InputError
from core.market.intervals import parse_interval
from core.scanner.plan import Plan, validate_plan
from core.store.validation import RecordNotFound

Style = Literal["scalp", "intraday", "swing", "leaps"]
Direction = Literal["long", "short"]
USER_PLAN_PREFIX = "u."  # plans the trader (or the GPT) authored; scanner plans are shared market facts
MAX_UNIVERSE = 200


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScanFilters(Strict):
    min_rvol: float | None = Field(None, ge=0, le=100, description=(
        "Minimum relative volume: volume so far this session over the mean of the previous 10 sessions "
        "at the same point (1 = a normal day)."))
    exclude: list[Annotated[str, Field(max_length=32)]] = Field(default_factory=list, max_length=MAX_UNIVERSE,
                                                                description="Symbols to leave out.")
    min_liquidity_rank: int | None = Field(None, ge=0, le=100, description=(
        "Minimum liquidity rank, 0–100 on a log scale of the median daily dollar volume of the last 20 "
        "sessions: 0 = $1M/day, 40 = $100M/day, 60 = $1B/day, 100 = $100B/day."))


class ScanRequest(Strict):
    universe: str | list[Annotated[str, Field(max_length=32)]] | None = Field(
        None, max_length=2000, description="Symbols: a list, a comma-separated string, or empty/'all' for the "
                                           "workstation's universe.")
    style: Style = "intraday"
    interval: str = Field("5m", max_length=8, description="Bar interval: 1m 5m 15m 30m 1h 4h 1D.")
    limit: int = Field(20, ge=1, le=100)
    filters: ScanFilters | None = None
    cursor: str | None = Field(None, pattern=r"^[0-9]{1,6}$", description="next_cursor of a previous page.")
    playbooks: list[Annotated[str, Field(max_length=64)]] | None = Field(None, max_length=40)
    simulate_open: bool = Field(False, description="Accepted for compatibility; the replay feed already "
                                                   "plays real sessions.")


class LevelsRequest(Strict):
    symbol: str = Field(..., min_length=1, max_length=32)
    direction: Direction
    entry: float = Field(..., gt=0, lt=1e7)
    stop: float = Field(..., gt=0, lt=1e7)
    targets: list[Annotated[float, Field(gt=0, lt=1e7)]] = Field(..., min_length=1, max_length=3,
                                                                 description="TP1..TP3, nearest first.")
    style: Style = "intraday"
    interval: str = Field("5m", max_length=8)


class PlanRequest(Strict):
    plan_id: str | None = Field(None, max_length=64, description="Update this plan (a new version); "
                                                                 "omit to build a new plan from levels.")
    symbol: str | None = Field(None, min_length=1, max_length=32)
    direction: Direction | None = None
    entry: float | None = Field(None, gt=0, lt=1e7)
    stop: float | None = Field(None, gt=0, lt=1e7)
    targets: list[Annotated[float, Field(gt=0, lt=1e7)]] | None = Field(None, min_length=1, max_length=3)
    style: Style = "intraday"
    interval: str = Field("5m", max_length=8)
    notes: str | None = Field(None, max_length=2000)


class ChartUrlRequest(LevelsRequest):
    plan_id: str | None = Field(None, max_length=64)
    levels: list[Annotated[float, Field(gt=0, lt=1e7)]] = Field(default_factory=list, max_length=20)
    snap: bool = Field(True, description="Snap targets to the symbol's labelled key levels by priority "
                                         "(gap_fill 10 … session 4) within the style window (ATR × 0.15 "
                                         "scalp, 0.20 intraday, 0.25 swing, 0.30 leaps).")


class MultiContextRequest(Strict):
    symbol: str = Field(..., min_length=1, max_length=32)
    intervals: list[Annotated[str, Field(max_length=8)]] | None = Field(None, max_length=7)
    lookback: int = Field(300, ge=50, le=1000)
    include_series: bool = False


class ContractsRequest(Strict):
    symbol: str = Field(..., min_length=1, max_length=32)
    direction: Direction | None = None
    style: Style = "intraday"
    plan_id: str | None = Field(None, max_length=64, description="Anchor on this plan's levels.")
    entry: float | None = Field(None, gt=0, lt=1e7)
    stop: float | None = Field(None, gt=0, lt=1e7)
    targets: list[Annotated[float, Field(gt=0, lt=1e7)]] | None = Field(None, min_length=1, max_length=3)
    via_proxy: bool | None = Field(None, description="Index mode: true forces the proxy ETF (SPX→SPY).")
    risk_amount: float = Field(100.0, gt=0, le=1e6, description="Dollars at risk for sizing.")


# -- helpers -----------------------------------------------------------------------------------------
def jsonable(obj: Any) -> Any:
    """Dataclasses, numpy, datetimes, enums → JSON values; NaN/inf → null."""
    kind = type(obj)
    if kind is float:  # the common leaves first: series are long lists of floats
        return obj if math.isfinite(obj) else None
    if kind is str or kind is int or kind is bool or obj is None:
        return obj
    if is_dataclass(obj) and not isinstance(obj, type):
        return jsonable(asdict(obj))
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, (datetime, date)):
        return obj.isoformat()
    return obj


SERIES_KEYS = ("bars", "indicators", "series")


def fit_response(body: dict[str, Any], series_keys: tuple[str, ...] = SERIES_KEYS) -> dict[str, Any]:
    """Keep a response under ChatGPT's 100,000-character limit: keep only the newest points of the
    series lists (bars, indicator series) until it fits, and say so."""
    if len(json.dumps(body, separators=(",", ":"))) <= MAX_RESPONSE_CHARS:
        return body
    keep = 1000
    while keep >= 1:
        trimmed = _trim(body, series_keys, keep)
        if len(json.dumps(trimmed, separators=(",", ":"))) <= MAX_RESPONSE_CHARS:
            trimmed["series_truncated"] = {"kept_last": keep,
                                           "reason": "responses are limited to 100,000 characters"}
            return trimmed
        keep //= 2
    raise InputError("lookback", "the answer does not fit in 100,000 characters; ask for less")


def _trim(obj: Any, keys: tuple[str, ...], keep: int, inside: bool = False) -> Any:
    """Lists under a series key (at any depth below it) keep their last `keep` items."""
    if isinstance(obj, dict):
        return {k: _trim(v, keys, keep, inside or k in keys) for k, v in obj.items()}
    if isinstance(obj, list):
        items = obj[-keep:] if inside else obj
        return [_trim(v, keys, keep, False) if isinstance(v, dict) and not inside else v for v in items]
    return obj


def user_plan_id(user: str, symbol: str, seed: str) -> str:
    digest = hashlib.sha256(f"{user}|{symbol}|{seed}".encode()).hexdigest()[:12]
    return f"{USER_PLAN_PREFIX}{symbol.lower()}.{digest}"


def tv_link(base: str, deps: Any, *, symbol: str, interval: str, direction: str | None, entry: float | None,
            stop: float | None, targets: list[float] | tuple[float, ...], plan_id: str | None = None,
            levels: list[float] | None = None) -> str:
    exp, sig = deps.links.sign(symbol)
    params: dict[str, Any] = {"symbol": symbol, "interval": interval}
    if direction:
        params["direction"] = direction
    if entry is not None:
        params["entry"] = f"{entry:.6g}"
    if stop is not None:
        params["stop"] = f"{stop:.6g}"
    if targets:
        params["tp"] = ",".join(f"{t:.6g}" for t in targets)
    if levels:
        params["levels"] = ",".join(f"{v:.6g}" for v in levels)
    if plan_id:
        params["plan_id"] = plan_id
    params.update({"ema": "9,20,50", "vwap": "1", "exp": exp, "sig": sig})
    return f"{base}/tv?{urlencode(params)}"


async def symbol_liquidity(kernel: Any, symbols: list[str], interval: str) -> dict[str, dict[str, Any]]:
    """rvol on the scan interval and the liquidity rank from daily bars, per symbol
    (core.scanner.liquidity); the arithmetic runs on the kernel's CPU threads."""
    from core.scanner.liquidity import LIQUIDITY_SESSIONS
    from core.services.plans import SCAN_HISTORY

    iv = parse_interval(interval)
    out: dict[str, dict[str, Any]] = {}
    for sym in symbols:
        try:
            bars = await kernel.market.bars(sym, iv, limit=SCAN_HISTORY)
            daily = bars if iv.is_daily else await kernel.market.bars(sym, "1D", limit=LIQUIDITY_SESSIONS + 1)
        except InputError as exc:
            out[sym] = {"rvol": None, "liquidity_rank": None, "reason": exc.reason}
            continue
        out[sym] = await kernel.runtime.run_cpu_thread(measure_liquidity, sym, bars, daily, iv.is_daily)
    return out


def measure_liquidity(symbol: str, bars: Any, daily: Any, is_daily: bool) -> dict[str, Any]:
    from core.market.calendar import calendar_for
    from core.market.sessions import in_regular_hours, session_ids
    from core.scanner.liquidity import liquidity_rank, median_dollar_volume, relative_volume

    rvol = None
    if len(bars):
        cal = calendar_for(symbol)
        sid = session_ids(bars.ts, cal)
        counted = None if is_daily or cal.is_futures else in_regular_hours(bars.ts, cal)
        rvol = relative_volume(bars.volume, sid, counted)
    dollar = median_dollar_volume(daily.close, daily.volume) if len(daily) else None
    return {"rvol": round(rvol, 3) if rvol is not None else None, "liquidity_rank": liquidity_rank(dollar),
            "dollar_volume": dollar}


def apply_liquidity_filters(cands: list[dict[str, Any]],
                            filters: ScanFilters) -> tuple[list[dict[str, Any]], list[str]]:
    """Keep the candidates meeting `min_rvol` and `min_liquidity_rank`; a symbol whose measure is
    unknown is left out, and a warning names it (never silently kept)."""
    warnings: list[str] = []
    kept = cands
    for key, floor in (("rvol", filters.min_rvol), ("liquidity_rank", filters.min_liquidity_rank)):
        if floor is None:
            continue
        unknown = sorted({c["symbol"] for c in kept if c.get(key) is None})
        if unknown:
            warnings.append(f"filters.min_{key}: {key} unknown for {', '.join(unknown)} (too little history); "
                            "left out")
        kept = [c for c in kept if c.get(key) is not None and c[key] >= floor]
    return kept, warnings


async def snap_plan(kernel: Any, plan: Plan) -> tuple[Plan, list[dict[str, Any]], list[str]]:
    """TC's chart-url snapping: targets move to the symbol's labelled key levels (the context
    service's, at the latest bar) by priority within SNAP_WINDOW[style] × ATR, each staying at least
    the TP1 minimum distance beyond entry. The snapped plan must still validate; if it does not,
    the trader's targets stay and a warning says why."""
    from core.scanner.levels import Level, snap_targets
    from core.scanner.targets import SNAP_WINDOW

    if not (math.isfinite(plan.atr) and plan.atr > 0):
        return plan, [], ["targets not snapped: ATR unknown (too few bars)"]
    ctx = await kernel.context.context(plan.symbol, plan.interval, 50, False)
    levels = [Level(str(k), float(v)) for k, v in (ctx.get("key_levels") or {}).items()
              if isinstance(v, (int, float)) and math.isfinite(v)]
    floor = (0.3 if parse_interval(plan.interval).minutes <= 60 else 0.6) * plan.atr
    moves = snap_targets(plan.entry, plan.sign, plan.targets, levels, SNAP_WINDOW[plan.style] * plan.atr, floor)
    if all(m.level is None for m in moves):
        return plan, [], []
    targets = tuple(m.after for m in moves)
    risk = abs(plan.entry - plan.stop)
    snapped = replace(plan, targets=targets, rr=tuple(abs(t - plan.entry) / risk for t in targets),
                      target_labels=tuple(m.level.label if m.level else None for m in moves))
    try:
        validate_plan(snapped)
    except InputError as exc:
        return plan, [], [f"targets not snapped: the snapped plan fails {exc.field} ({exc.reason})"]
    info = [{"target": f"tp{m.index + 1}", "from": m.before, "to": m.after, "label": m.level.label,
             "priority": m.level.priority} for m in moves if m.level is not None]
    return snapped, info, []


async def plan_atr(kernel: Any, symbol: str, interval: str) -> float:
    from core.indicators.volatility import atr

    bars = await kernel.market.bars(symbol, interval, limit=200)
    if len(bars) < 20:
        return float("nan")
    return float(atr(bars.high, bars.low, bars.close, 14)[-1])


async def visible_plan(deps: Any, who: Principal, plan_id: str, version: int | None = None) -> Plan:
    """The user's own plan, or a shared scanner plan; another user's plan is "not found"."""
    from core.scanner.plan import Plan as PlanCls
    from core.store.plans import PlansRepo

    store = deps.kernel.store
    if store is None:
        raise InputError("store", "the database is not open")
    repo = PlansRepo(store)
    owners = [who.user] + ([LOCAL_USER] if who.user != LOCAL_USER and not plan_id.startswith(USER_PLAN_PREFIX)
                           else [])

    def load() -> Plan | None:
        for owner in owners:
            pv = repo.latest(plan_id, owner=owner) if version is None else repo.get(plan_id, version, owner=owner)
            if pv is not None:
                return PlanCls.from_dict({**pv.payload, "version": pv.version})
        return None

    plan = await deps.kernel.runtime.run_io(load)
    if plan is None:
        raise RecordNotFound("plan_id", f"no plan {plan_id}" + (f" version {version}" if version else ""))
    return plan


async def save_user_plan(deps: Any, who: Principal, plan: Plan) -> Plan:
    from core.store.plans import PlansRepo

    validate_plan(plan)
    repo = PlansRepo(deps.kernel.store)
    saved = await deps.kernel.runtime.run_io(lambda: repo.save(
        plan.plan_id, symbol=plan.symbol, playbook=plan.playbook, direction=plan.direction,
        payload=plan.to_dict(), owner=who.user))
    return replace(plan, version=saved.version)


def trader_plan(who: Principal, req: LevelsRequest | PlanRequest, now: datetime, atr_value: float) -> Plan:
    assert req.symbol and req.direction and req.entry and req.stop and req.targets
    symbol = req.symbol.strip().upper()
    iv = parse_interval(req.interval)
    risk = abs(req.entry - req.stop)
    seed = f"{req.direction}|{req.entry}|{req.stop}|{now.isoformat()}"
    return Plan(
        plan_id=user_plan_id(who.user, symbol, seed), version=1, symbol=symbol, playbook="trader",
        direction=req.direction, entry=req.entry, stop=req.stop, targets=tuple(req.targets),
        rr=tuple(abs(t - req.entry) / risk if risk else 0.0 for t in req.targets), confidence=0.0,
        confidence_raw=0.0, confidence_source="none", expected_move=float("nan"),
        notes=(getattr(req, "notes", None) or "the trader's own levels; confidence not estimated",),
        reasons=(), key_levels=(), target_labels=(None,) * len(req.targets), invalidation=req.stop,
        invalidation_note="stop", created_at=now, session_phase="", style=req.style, interval=iv.name,
        atr=atr_value)


def _data_quality(kernel: Any) -> dict[str, Any]:
    st = kernel.market.status()
    return {"source": st.source, "state": st.state.value, "replayed": st.replayed, "data_age_s": st.data_age_s,
            "detail": st.detail}


# -- routes ------------------------------------------------------------------------------------------
class SerializedAnswers:
    """JSON bytes of answers the services share between callers (the context service returns the
    same dict for the same bar state): converted, trimmed and encoded once, not per request."""

    def __init__(self, entries: int = 64) -> None:
        self._entries = entries
        self._bytes: OrderedDict[int, tuple[object, bytes]] = OrderedDict()

    def get(self, data: object, build: Callable[[], Any]) -> bytes:
        hit = self._bytes.get(id(data))
        if hit is not None and hit[0] is data:  # the entry holds `data`, so its id cannot be reused
            self._bytes.move_to_end(id(data))
            return hit[1]
        body = json.dumps(build(), separators=(",", ":"), allow_nan=False).encode()
        self._bytes[id(data)] = (data, body)
        while len(self._bytes) > self._entries:
            self._bytes.popitem(last=False)
        return body


def register(app: FastAPI, deps: Any) -> None:
    kernel = deps.kernel
    serialized = SerializedAnswers()
    Who = Annotated[Principal, Depends(deps.principal)]

    @app.get("/gpt/health", operation_id="health", tags=["coach"],
             summary="Is the workstation up, and which data does it serve (live or replayed)?")
    async def health() -> dict[str, Any]:
        status = kernel.market.status()
        return {"ok": True, "feed": {"source": status.source, "state": status.state.value,
                                     "detail": status.detail, "replayed": status.replayed},
                "as_of": kernel.clock.now().isoformat()}

    @app.post("/gpt/scan", operation_id="scanSetups", tags=["coach"],
              summary="Setups in play (triggered, armed, forming) across a universe, ranked, with plans.")
    async def scan(req: ScanRequest, request: Request, who: Who) -> dict[str, Any]:
        if isinstance(req.universe, str):
            token = req.universe.strip()
            symbols = None if token.lower() in ("", "all", "default") else [s for s in token.split(",") if s.strip()]
        else:
            symbols = req.universe or None
        if symbols is not None and len(symbols) > MAX_UNIVERSE:
            raise InputError("universe", f"at most {MAX_UNIVERSE} symbols")
        filters = req.filters or ScanFilters()
        excluded = {s.strip().upper() for s in filters.exclude}
        if symbols is not None:
            symbols = [s for s in symbols if s.strip().upper() not in excluded]
            if not symbols:
                raise InputError("universe", "every symbol was excluded")
        report = await kernel.plans.scan(symbols, req.interval, req.style, req.playbooks)
        data = report.to_dict()
        cands = [c for c in data["candidates"] if str(c.get("symbol", "")).upper() not in excluded]
        warnings = list(data["warnings"])
        liq = await symbol_liquidity(kernel, sorted({str(c["symbol"]) for c in cands}), data["interval"])
        for c in cands:
            c.update({k: liq[c["symbol"]][k] for k in ("rvol", "liquidity_rank")})
        for row in data["symbols"]:
            if row.get("symbol") in liq:
                row.update({k: liq[row["symbol"]][k] for k in ("rvol", "liquidity_rank")})
        cands, dropped = apply_liquidity_filters(cands, filters)
        warnings.extend(dropped)
        start = int(req.cursor or 0)
        page = cands[start:start + req.limit]
        base = deps.link_base(request)
        for c in page:
            if c.get("entry") and c.get("stop") and c.get("tps"):
                c["chart_url"] = tv_link(base, deps, symbol=c["symbol"], interval=data["interval"],
                                         direction=c.get("direction"), entry=c["entry"], stop=c["stop"],
                                         targets=c["tps"], plan_id=c.get("plan_id"))
        nxt = start + req.limit
        quality = _data_quality(kernel)
        banner = "REPLAYED DATA: sessions from the bundled history, not live" if quality["replayed"] else ""
        return fit_response({"as_of": data["as_of"], "interval": data["interval"], "style": data["style"],
                             "banner": banner, "candidates": page, "symbols": data["symbols"],
                             "next_cursor": str(nxt) if nxt < len(cands) else None, "total": len(cands),
                             "warnings": warnings, "data_quality": quality})

    @app.post("/gpt/plan", operation_id="savePlan", tags=["coach"],
              summary="Build a plan from levels, or move a plan's levels (a new version). Validated like chart-url.")
    async def plan(req: PlanRequest, request: Request, who: Who) -> dict[str, Any]:
        now = kernel.clock.now()
        if req.plan_id:
            current = await visible_plan(deps, who, req.plan_id)
            entry = req.entry if req.entry is not None else current.entry
            stop = req.stop if req.stop is not None else current.stop
            tps = tuple(req.targets) if req.targets is not None else current.targets
            risk = abs(entry - stop)
            if risk <= 0:
                raise InputError("stop", "must differ from the entry")
            mine = current.plan_id.startswith(USER_PLAN_PREFIX)
            pid = current.plan_id if mine else user_plan_id(who.user, current.symbol, current.plan_id)
            changed = replace(current, plan_id=pid, entry=entry, stop=stop, targets=tps,
                              rr=tuple(abs(t - entry) / risk for t in tps),
                              target_labels=tuple(current.target_labels[:len(tps)])
                              + (None,) * max(0, len(tps) - len(current.target_labels)),
                              notes=(*current.notes, req.notes) if req.notes else current.notes)
            saved = await save_user_plan(deps, who, changed)
        else:
            missing = [f for f in ("symbol", "direction", "entry", "stop", "targets") if getattr(req, f) is None]
            if missing:
                raise InputError(missing[0], "is required to build a plan (or give plan_id to update one)")
            assert req.symbol is not None
            atr_value = await plan_atr(kernel, req.symbol, req.interval)
            saved = await save_user_plan(deps, who, trader_plan(who, req, now, atr_value))
        out = saved.to_dict()
        out["chart_url"] = tv_link(deps.link_base(request), deps, symbol=saved.symbol, interval=saved.interval,
                                   direction=saved.direction, entry=saved.entry, stop=saved.stop,
                                   targets=saved.targets, plan_id=saved.plan_id)
        return jsonable(out)

    @app.get("/gpt/context/{symbol}", operation_id="getContext", tags=["coach"],
             summary="One symbol on one interval: indicator series, key levels, overlays and a snapshot.")
    async def context(symbol: Annotated[str, Path(min_length=1, max_length=32)], who: Who,
                      interval: Annotated[str, Query(max_length=8, description="1m 5m 15m 30m 1h 4h 1D")] = "5m",
                      lookback: Annotated[int, Query(ge=50, le=1000, description="Bars of series (50–1000).")] = 300,
                      include_series: bool = True) -> dict[str, Any]:
        data = await kernel.context.context(symbol, interval, lookback, include_series)
        return Response(serialized.get(data, lambda: fit_response(jsonable(data))), media_type="application/json")

    @app.post("/gpt/multi-context", operation_id="getMultiContext", tags=["coach"],
              summary="Several intervals at once with the volatility regime and a confluence summary.")
    async def multi_context(req: MultiContextRequest, who: Who) -> dict[str, Any]:
        data = await kernel.context.multi_context(req.symbol, req.intervals, req.lookback, req.include_series)
        return fit_response(jsonable(data))

    @app.post("/gpt/contracts", operation_id="rankContracts", tags=["coach"],
              summary="Option contracts for a plan: best 3, alternatives, rejections and scenario P/L.")
    async def contracts(req: ContractsRequest, who: Who) -> dict[str, Any]:
        direction, entry, stop, targets = req.direction, req.entry, req.stop, req.targets
        if req.plan_id:
            p = await visible_plan(deps, who, req.plan_id)
            direction = direction or p.direction  # type: ignore[assignment]
            entry, stop, targets = entry or p.entry, stop or p.stop, targets or list(p.targets)
        out = await contracts_response(kernel, req.symbol, direction, req.style, entry=entry, stop=stop,
                                       targets=targets, via_proxy=req.via_proxy, risk_amount=req.risk_amount)
        return fit_response(out, ("rejections",))

    @app.post("/gpt/chart-url", operation_id="chartUrl", tags=["coach"],
              summary="Validate a plan's geometry (order, R:R, TP1 distance) and return a /tv chart link.")
    async def chart_url(req: ChartUrlRequest, request: Request, who: Who) -> dict[str, Any]:
        atr_value = await plan_atr(kernel, req.symbol, req.interval)
        plan = trader_plan(who, req, kernel.clock.now(), atr_value)
        validate_plan(plan)
        snaps: list[dict[str, Any]] = []
        notes: list[str] = []
        if req.snap:
            plan, snaps, notes = await snap_plan(kernel, plan)
        base = deps.link_base(request)
        return {"interactive": tv_link(base, deps, symbol=plan.symbol, interval=plan.interval,
                                       direction=plan.direction, entry=plan.entry, stop=plan.stop,
                                       targets=plan.targets, plan_id=req.plan_id, levels=req.levels),
                "targets": list(plan.targets), "snapped": snaps, "warnings": notes,
                "rr_t1": plan.rr_t1, "atr": plan.atr if math.isfinite(plan.atr) else None}

    @app.get("/idea/{plan_id}", operation_id="getPlan", tags=["plans"],
             summary="A plan's latest version, with the versions kept.")
    async def idea(plan_id: Annotated[str, Path(max_length=64)], who: Who) -> dict[str, Any]:
        return await _idea(plan_id, None, who)

    @app.get("/idea/{plan_id}/{version}", operation_id="getPlanVersion", tags=["plans"],
             summary="One version of a plan.")
    async def idea_version(plan_id: Annotated[str, Path(max_length=64)],
                           version: Annotated[int, Path(ge=1, le=1_000_000)], who: Who) -> dict[str, Any]:
        return await _idea(plan_id, version, who)

    async def _idea(plan_id: str, version: int | None, who: Principal) -> dict[str, Any]:
        from core.store.plans import PlansRepo

        plan = await visible_plan(deps, who, plan_id, version)
        repo = PlansRepo(kernel.store)
        owner = who.user if plan.plan_id.startswith(USER_PLAN_PREFIX) or who.user == LOCAL_USER else LOCAL_USER
        versions = await kernel.runtime.run_io(lambda: repo.versions(plan.plan_id, owner=owner))
        return jsonable({"plan": plan.to_dict(), "versions": versions,
                         "following": kernel.plans.following().get(plan.plan_id)})


async def contracts_response(kernel: Any, symbol: str, direction: str | None, style: str, *,
                             entry: float | None, stop: float | None, targets: list[float] | None,
                             via_proxy: bool | None, risk_amount: float) -> dict[str, Any]:
    """The rankContracts answer (also `tradecoach contracts`): the options service's ranking, and the
    scenario P/L when the levels are complete."""
    if direction is None:
        raise InputError("direction", "is required (or give plan_id)")
    levels = (entry, stop, tuple(targets)) if entry and stop and targets else None
    idea = await kernel.options.rank(symbol, direction, style, plan_levels=levels, via_proxy=via_proxy)
    res = idea.result
    out: dict[str, Any] = {
        "symbol": idea.symbol, "chain_symbol": idea.chain_symbol, "index_mode": idea.index_mode,
        "reason": idea.reason, "best": jsonable(res.best), "alternatives": jsonable(res.alternatives),
        "rejections": jsonable(res.rejections[:50]), "rejection_counts": jsonable(res.counts),
        "criteria": jsonable(res.criteria), "ladder": res.ladder, "warnings": list(res.warnings),
        "source": res.source, "modelled": res.modelled,
        "proxy": jsonable(idea.proxy) if idea.proxy else None, "levels": jsonable(idea.levels)}
    if levels is not None and res.best:
        out["scenarios"] = await _scenarios(kernel, idea, direction, levels, risk_amount)
    return out


async def _scenarios(kernel: Any, idea: Any, direction: str, levels: tuple[float, float, tuple[float, ...]],
                     risk_amount: float) -> list[dict[str, Any]]:
    """P/L per contract at the stop and each target (the options service's scenarios), with the
    number of contracts the risk amount buys."""
    out = []
    for c, res in await kernel.options.scenarios(idea, direction, *levels):
        per_contract_risk = -min(res.pnl_full[0], 0.0)
        contracts = int(risk_amount // per_contract_risk) if per_contract_risk > 0 else 0
        out.append({"contract": c.contract, "levels": list(res.levels), "labels": list(res.labels),
                    "pnl_per_contract": jsonable(res.pnl_full), "cost_per_contract": res.cost_per_contract,
                    "contracts_for_risk": contracts, "risk_amount": risk_amount})
    return out
