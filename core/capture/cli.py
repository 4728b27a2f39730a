"""`python -m app capture screen|region|chart|tradingview [--symbol S] [--interval I] [--json]`.

Exit codes: 0 captured, 1 the capture failed (no display, sign-in refused, no chart), 2 bad input."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from core.capture.region import Region
from core.errors import InputError, TradeCoachError

if TYPE_CHECKING:
    from core.capture.store import CaptureResult
    from core.config import Settings
    from core.store.engine import Store

log = logging.getLogger(__name__)

TYPES = ("manual", "before", "after")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError("arguments", message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="tradecoach capture", description="Capture a chart image now and record it.")
    p.add_argument("source", choices=("screen", "region", "chart", "tradingview"))
    p.add_argument("--symbol", help="symbol the capture is filed under (default from settings)")
    p.add_argument("--interval", default=None, help="chart/tradingview bar size (default 5m / 15m)")
    p.add_argument("--monitor", type=int, default=None, help="screen: one monitor (1-based); default all")
    p.add_argument("--region", default=None, metavar="LEFT,TOP,WIDTH,HEIGHT",
                   help="region: save this rectangle as the capture region first")
    p.add_argument("--type", default="manual", choices=TYPES, dest="snapshot_type")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    return p


def _region_arg(text: str) -> Region:

    parts = text.split(",")
    if len(parts) != 4:
        raise InputError("region", "expected LEFT,TOP,WIDTH,HEIGHT")
    try:
        left, top, width, height = (int(p) for p in parts)
    except ValueError as exc:
        raise InputError("region", f"expected four whole numbers, got {text!r}") from exc
    return Region(left, top, width, height)


def _open_store(settings: Settings) -> Store:
    from core.store.engine import open_ready_store

    return open_ready_store(settings.database_url)


async def _chart(args: argparse.Namespace, symbol: str, interval: str) -> CaptureResult:
    from core.capture.service import CaptureService
    from core.config import load_settings
    from core.workstation import Workstation

    settings = load_settings()
    kernel = Workstation(settings)
    await kernel.start()
    try:
        if kernel.store is None:
            raise TradeCoachError("store: the kernel has no store")
        svc = CaptureService(kernel.store, settings.data_dir, clock=kernel.clock, bars=kernel.feeds)
        return await svc.chart(symbol, interval, snapshot_type=args.snapshot_type)
    finally:
        await kernel.stop()


def run(argv: Sequence[str]) -> dict[str, object]:
    """Do the capture; returns the result as a dict. Raises InputError / TradeCoachError."""
    from core.capture.service import CaptureService
    from core.config import load_settings

    args = _parser().parse_args(list(argv))
    settings = load_settings()
    symbol = (args.symbol or settings.default_symbol).strip().upper()
    if args.source == "chart":
        res = asyncio.run(_chart(args, symbol, args.interval or "5m"))
        return res.to_json()
    store = _open_store(settings)
    try:
        svc = CaptureService(store, settings.data_dir)
        if args.source == "screen":
            res = svc.screen(symbol, monitor=args.monitor, snapshot_type=args.snapshot_type)
        elif args.source == "region":
            if args.region:
                svc.save_region(_region_arg(args.region))
            res = svc.region(symbol, snapshot_type=args.snapshot_type)
        else:
            res = svc.tradingview(symbol, args.interval or "15m", snapshot_type=args.snapshot_type)
    finally:
        store.close()
    return res.to_json()


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in argv
    if "-h" in argv or "--help" in argv:
        _parser().print_help()
        return 0
    try:
        out = run(argv)
    except InputError as exc:
        _fail(as_json, exc, "input", exc.field)
        return 2
    except TradeCoachError as exc:
        reason = getattr(exc, "reason", None)
        _fail(as_json, exc, "capture", reason)
        return 1
    if as_json:
        print(json.dumps({"ok": True, **out}))
    else:
        print(f"captured {out['source']} → {out['path']} ({out['width']}x{out['height']}, "
              f"{out['grab_ms']} ms, snapshot {out['snapshot_id']})")
    return 0


def _fail(as_json: bool, exc: Exception, kind: str, detail: object) -> None:
    if as_json:
        print(json.dumps({"ok": False, "error": kind, "field_or_reason": detail, "message": str(exc)}))
    else:
        print(f"error: {exc}", file=sys.stderr)
