"""`scan`, `context`, `contracts`: the coach's answers on the configured feed (replay by default),
through the same kernel service methods the window and the GPT routes call."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.cli.common import cli_settings, print_json
from core.errors import InputError

if TYPE_CHECKING:
    from core.workstation import Workstation

STYLES = ["scalp", "intraday", "swing", "leaps"]


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    scan = sub.add_parser("scan", help="run every playbook on the feed's latest bars and print the plans",
                          description="Run every playbook on the feed's latest bars and print the setups in play.")
    scan.add_argument("--symbols", nargs="*", help="symbols (default: all replay symbols)")
    scan.add_argument("--scan-interval", default="5m", dest="scan_interval", help="bar size (default 5m)")
    scan.add_argument("--style", default="intraday", choices=STYLES)
    scan.add_argument("--at", metavar="HH:MM", help="replay: scan at this exchange time of the replayed day "
                      "(default: the replay's start time)")
    scan.add_argument("--json", action="store_true", help="print one JSON object")
    scan.set_defaults(func=_scan)

    refit = sub.add_parser("refit-calibration", help="refit the scanner's confidence calibration on your own bars",
                           description="Refit the scanner's confidence calibration for one scan interval on the "
                           "bars of SYMBOL imported into the store (or the feed's history), as the window's "
                           "Scanner → Refit button does; scans of that interval use it from then on.")
    refit.add_argument("symbol")
    refit.add_argument("--scan-interval", default="5m", dest="scan_interval", help="bar size (default 5m)")
    refit.add_argument("--style", default="intraday", choices=STYLES)
    refit.add_argument("--bars", type=Path, metavar="FILE", help="import this CSV/Parquet bar file for SYMBOL first")
    refit.add_argument("--tz", help="--bars: time zone of naive timestamps (default America/New_York)")
    refit.add_argument("--json", action="store_true", help="print the job's result as one JSON object")
    refit.set_defaults(func=_refit)

    ctx = sub.add_parser("context", help="indicators, key levels and overlays of a symbol (the GPT's getContext)",
                         description="One symbol's context: key levels, indicators snapshot, overlays. Several "
                         "intervals give the multi-interval view with the volatility regime (getMultiContext).")
    ctx.add_argument("symbol")
    ctx.add_argument("--interval", nargs="+", default=["5m"], metavar="INTERVAL",
                     help="1m 5m 15m 30m 1h 4h 1D (default 5m); two or more: multi-interval context")
    ctx.add_argument("--lookback", type=int, default=300, help="bars considered (50–1000, default 300)")
    ctx.add_argument("--series", action="store_true", help="include the bar and indicator series in --json")
    ctx.add_argument("--json", action="store_true", help="print one JSON object")
    ctx.set_defaults(func=_context)

    con = sub.add_parser("contracts", help="option contracts for a trade idea or a stored plan (rankContracts)",
                         description="Rank option contracts for a direction, with scenario P/L at the stop and "
                         "targets when the levels are given (or taken from --plan-id).")
    con.add_argument("symbol")
    con.add_argument("--direction", choices=["long", "short"], help="required unless --plan-id gives it")
    con.add_argument("--style", default="intraday", choices=STYLES)
    con.add_argument("--entry", type=float)
    con.add_argument("--stop", type=float)
    con.add_argument("--target", type=float, nargs="+", dest="targets", metavar="PRICE", help="one to three targets")
    con.add_argument("--plan-id", help="anchor on this stored plan's direction and levels")
    con.add_argument("--via-proxy", action="store_true", default=None,
                     help="index mode: rank the proxy ETF's contracts (SPX→SPY)")
    con.add_argument("--risk", type=float, default=100.0, dest="risk_amount", help="dollars at risk for sizing")
    con.add_argument("--json", action="store_true", help="print one JSON object")
    con.set_defaults(func=_contracts)


# -- scan ---------------------------------------------------------------------------------------------
def _scan_time(kernel: Workstation, text: str) -> int:
    """HH:MM exchange time on the replayed day → UTC ns."""
    from datetime import time

    from core.workstation import NY

    try:
        hh, mm = (int(x) for x in text.split(":"))
        at = time(hh, mm)
    except ValueError as exc:
        raise InputError("at", f"expected HH:MM (exchange time), got {text!r}") from exc
    day = datetime.fromtimestamp(kernel.replay_clock.now_ns() / 1e9, NY).date()
    return int(datetime.combine(day, at, NY).timestamp() * 1e9)


def _scan(args: argparse.Namespace) -> int:
    from core.market.intervals import parse_interval
    from core.scanner.setups import format_report
    from core.workstation import NY, Workstation

    parse_interval(args.scan_interval, "scan_interval")  # refused before the kernel starts
    settings = cli_settings()

    async def run() -> int:
        async with Workstation.session(settings) as kernel:
            if args.at:
                if kernel.market.vendor_mode:
                    raise InputError("at", "only the replay feed can scan another time of day")
                await kernel.market.replay_pause()  # a snapshot at exactly that minute
                kernel.replay.jump_to_time(_scan_time(kernel, args.at))
            report = await kernel.plans.scan(args.symbols, args.scan_interval, args.style)
            scanned_at = kernel.clock.now()
            feed = kernel.market.status().detail
        if args.json:
            print_json({**report.to_dict(), "scanned_at": scanned_at.isoformat(), "feed": feed})
        else:
            print(f"scanned at {scanned_at.astimezone(NY):%Y-%m-%d %H:%M} ET ({feed})")
            print(format_report(report))
        return 0

    return asyncio.run(run())


# -- refit-calibration ----------------------------------------------------------------------------------
def _refit(args: argparse.Namespace) -> int:
    from core.events import JobProgress
    from core.jobs import JobStatus
    from core.market.intervals import parse_interval
    from core.progress import TerminalProgress
    from core.workstation import Workstation

    parse_interval(args.scan_interval, "scan_interval")  # refused before the kernel starts
    if args.bars is not None and not args.bars.is_file():
        raise InputError("bars", f"no such file: {args.bars}")
    settings = cli_settings()

    async def run() -> int:
        async with Workstation.session(settings) as kernel:
            with TerminalProgress(f"refit {args.symbol.upper()} {args.scan_interval}", enabled=not args.json) as bar:
                if args.bars is not None:
                    res = await kernel.import_bars(args.bars, args.symbol, tz=args.tz,
                                                   progress=lambda f, m: bar.update(0.3 * f, m))
                    bar.update(0.3, f"imported {res.inserted:,} bars")
                info = await kernel.plans.refit_calibration(args.symbol, args.scan_interval, style=args.style)

                def on_progress(ev: JobProgress) -> None:
                    if ev.job_id == str(info.id):
                        bar.update(0.3 + 0.7 * ev.fraction, ev.message)

                sub = kernel.bus.subscribe(JobProgress, on_progress, name="cli:refit")
                try:
                    done = await kernel.jobs.wait(info.id)
                finally:
                    sub.cancel()
        if done.status is not JobStatus.SUCCEEDED:
            why = (done.error or done.message or "").strip().splitlines()
            print(f"error: the refit {done.status.value}: {why[-1] if why else 'no reason given'}", file=sys.stderr)
            return 1
        res = done.result or {}
        if args.json:
            print_json(res)
        else:
            ece = res.get("ece")
            print(f"calibration {res.get('source')}: {res.get('plans')} plans from {res.get('bars')}, "
                  f"hit rate {float(res.get('hit_rate') or 0):.1%}, held-out ECE "
                  + ("n/a" if ece is None else f"{float(ece):.3f}"))   # type: ignore[arg-type]
            print(f"written to {res.get('path')}; {res.get('interval')} scans use it from now on")
        return 0

    return asyncio.run(run())


# -- context ------------------------------------------------------------------------------------------
def _context(args: argparse.Namespace) -> int:
    from core.api.routes_coach import jsonable
    from core.context import LOOKBACK_MAX, LOOKBACK_MIN
    from core.market.intervals import parse_interval
    from core.workstation import Workstation

    field = "interval" if len(args.interval) == 1 else "intervals"
    intervals = [parse_interval(name, field) for name in args.interval]
    if not LOOKBACK_MIN <= args.lookback <= LOOKBACK_MAX:
        raise InputError("lookback", f"must be an integer in {LOOKBACK_MIN}..{LOOKBACK_MAX}")
    settings = cli_settings()

    async def run() -> dict[str, Any]:
        async with Workstation.session(settings) as kernel:
            if len(intervals) == 1:
                return await kernel.context.context(args.symbol, intervals[0], args.lookback,
                                                    include_series=args.series)
            return await kernel.context.multi_context(args.symbol, [iv.name for iv in intervals], args.lookback,
                                                      include_series=args.series)

    data = jsonable(asyncio.run(run()))
    if args.json:
        print_json(data)
    else:
        print(format_context(data))
    return 0


def format_context(data: dict[str, Any]) -> str:
    if "snapshots" in data:  # several intervals
        summary = data.get("summary") or {}
        lines = [format_context(one) for one in data["snapshots"]]
        lines.append(f"{data.get('symbol')}: regime {summary.get('regime_label')}, confluence "
                     f"{summary.get('confluence_score')}; " + "; ".join(summary.get("trend_notes") or []))
        return "\n".join(lines)
    snap = data.get("snapshot", {})
    lines = [f"{data.get('symbol')} {data.get('interval')} as of {_et(data.get('as_of'))}: price {snap.get('price')}"]
    for group in ("session", "trend", "volatility", "gap"):
        if isinstance(snap.get(group), dict):
            lines.append(f"  {group}: " + ", ".join(f"{k} {_short(v)}" for k, v in snap[group].items()))
    levels = data.get("key_levels") or {}
    if levels:
        lines.append("  key levels: " + ", ".join(f"{k} {_short(v)}" for k, v in levels.items()))
    return "\n".join(lines)


def _short(v: object) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def _et(ns: object) -> str:
    if not isinstance(ns, int):
        return str(ns)
    from core.workstation import NY

    return f"{datetime.fromtimestamp(ns / 1e9, NY):%Y-%m-%d %H:%M} ET"


# -- contracts ----------------------------------------------------------------------------------------
def _contracts(args: argparse.Namespace) -> int:
    from core.api.routes_coach import contracts_response

    if args.targets is not None and not 1 <= len(args.targets) <= 3:
        raise InputError("target", "give one to three targets")
    for name in ("entry", "stop", "risk_amount"):
        value = getattr(args, name)
        if value is not None and not value > 0:
            raise InputError(name.replace("_amount", ""), "must be a positive price" if name != "risk_amount"
                             else "must be a positive amount")
    if args.direction is None and not args.plan_id:
        raise InputError("direction", "is required (or give --plan-id)")
    settings = cli_settings()
    from core.workstation import Workstation

    async def run() -> dict[str, Any]:
        async with Workstation.session(settings) as kernel:
            direction, entry, stop, targets = args.direction, args.entry, args.stop, args.targets
            if args.plan_id:
                plan = await kernel.plans.get(args.plan_id)
                direction = direction or plan.direction
                entry, stop, targets = entry or plan.entry, stop or plan.stop, targets or list(plan.targets)
            return await contracts_response(kernel, args.symbol, direction, args.style, entry=entry, stop=stop,
                                            targets=targets, via_proxy=args.via_proxy,
                                            risk_amount=args.risk_amount)

    out = asyncio.run(run())
    if args.json:
        print_json(out)
    else:
        print(format_contracts(out))
    return 0


def format_contracts(out: dict[str, Any]) -> str:
    head = f"{out['symbol']}" + (f" via {out['chain_symbol']} ({out['reason']})" if out.get("index_mode") else "")
    lines = [f"{head}: {len(out['best'])} best, {len(out['alternatives'])} alternatives "
             f"(source: {out['source']})"]
    for c in out["best"]:
        lines.append(f"  {c['contract']}  mid {c['mid']:.2f}  delta {c['delta']:.2f}  iv {c['iv']:.1%}  dte {c['dte']}")
    for s in out.get("scenarios", []):
        pnl = ", ".join(f"{lab} {v:+.0f}" if isinstance(v, (int, float)) else f"{lab} {v}"
                        for lab, v in zip(s["labels"], s["pnl_per_contract"], strict=False))
        lines.append(f"  {s['contract']}: {pnl} per contract; {s['contracts_for_risk']} for ${s['risk_amount']:g}")
    counts = out.get("rejection_counts") or {}
    if counts:
        lines.append("  rejected: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    if not out["best"]:   # why nothing: the nearest misses (the ranker lists them first)
        lines += [f"  nearest miss: {r['contract']}: {r['code']} — {r['detail']}"
                  for r in out.get("rejections", [])[:3]]
    lines += [f"  warning: {w}" for w in out.get("warnings", [])]
    return "\n".join(lines)
