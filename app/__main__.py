"""`python -m app` / `tradecoach`: the window by default, plus CLI commands that use the same
kernel services."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import sys
from pathlib import Path

from core.errors import TradeCoachError

# Commands implemented next to their subsystem; `python -m app CMD ARGS…` forwards ARGS as they are.
FORWARDED = {
    "eval-scanner": ("core.scanner.cli", "main"),
    "predict": ("models.cli", "main_predict"),
    "train": ("models.cli", "main_train"),
    "eval-predictor": ("models.cli", "main_eval"),
    "read-chart": ("core.chartread.cli", "main"),
}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tradecoach", description="Trading Coach Workstation")
    p.add_argument("--smoke", type=Path, metavar="PATH.png",
                   help="start the full app on the replay feed, wait for live bars, save a window screenshot, exit")
    p.add_argument("--symbol", help="symbol to open (default from settings)")
    p.add_argument("--interval", help="interval to open, e.g. 1m 5m 1h 1D")
    p.add_argument("--speed", type=float, help="replay speed (1 to 1000)")
    sub = p.add_subparsers(dest="command", metavar="{import-bars,scan," + ",".join(FORWARDED) + "}")
    scan = sub.add_parser("scan", help="run every playbook on the replay feed's latest bars and print the plans")
    scan.add_argument("--symbols", nargs="*", help="symbols (default: all replay symbols)")
    scan.add_argument("--scan-interval", default="5m", dest="scan_interval")
    scan.add_argument("--style", default="intraday", choices=["scalp", "intraday", "swing", "leaps"])
    scan.add_argument("--json", action="store_true")
    for name in FORWARDED:
        sub.add_parser(name, help=f"see `python -m app {name} --help`", add_help=False)
    imp = sub.add_parser("import-bars", help="import a CSV/Parquet bar file into the store")
    imp.add_argument("file", type=Path)
    imp.add_argument("--symbol", required=True, dest="import_symbol")
    imp.add_argument("--tz", help="time zone of naive timestamps (default America/New_York)")
    imp.add_argument("--allow-missing-volume", action="store_true", help="treat missing volume as 0")
    imp.add_argument("--json", action="store_true", help="print the result as JSON")
    return p


def _import_bars(args: argparse.Namespace) -> int:
    from app.logs import setup_logging
    from core.config import load_settings
    from core.workstation import Workstation

    settings = load_settings()
    setup_logging(None)

    async def run() -> int:
        kernel = Workstation(settings)
        kernel.bus.bind()
        loop = asyncio.get_running_loop()
        kernel.store = await loop.run_in_executor(None, kernel.open_store)
        try:
            imp = await kernel.import_bars(args.file, args.import_symbol, tz=args.tz,
                                           allow_missing_volume=args.allow_missing_volume)
        finally:
            kernel.store.close()
        info = {"symbol": imp.symbol, "interval": imp.interval.name, "rows": len(imp.bars),
                "first": imp.bars.index[0].isoformat(), "last": imp.bars.index[-1].isoformat(),
                "source": imp.source, "notes": list(imp.notes), "database": settings.redacted()["db_url"]}
        print(json.dumps(info) if args.json else
              f"imported {info['rows']} {info['interval']} bars of {info['symbol']} "
              f"({info['first']} → {info['last']}) into {info['database']}"
              + "".join(f"\n  note: {n}" for n in imp.notes))
        return 0

    return asyncio.run(run())


def _scan(args: argparse.Namespace) -> int:
    from app.logs import setup_logging
    from core.config import load_settings
    from core.workstation import Workstation

    settings = load_settings()
    setup_logging(None, level=30)

    async def run() -> int:
        kernel = Workstation(settings)
        await kernel.start()
        try:
            result = await kernel.scan(args.symbols, args.scan_interval, args.style)
        finally:
            await kernel.stop()
        if args.json:
            print(json.dumps({"as_of": kernel.clock.now().isoformat(), "feed": kernel.feed_status().detail,
                              "candidates": [p.to_dict() for p in result.plans],
                              "rejected": len(result.rejected)}, default=str))
        else:
            print(f"{len(result.plans)} plans from {len(result.symbols)} symbols ({kernel.feed_status().detail})")
            for p in result.plans:
                tps = ", ".join(f"{t:.2f}" for t in p.targets)
                print(f"  {p.symbol:5s} {p.playbook:20s} {p.direction:5s} entry {p.entry:.2f} stop {p.stop:.2f} "
                      f"targets {tps}  conf {p.confidence:.2f}")
        return 0

    return asyncio.run(run())


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in FORWARDED:
        module, func = FORWARDED[argv[0]]
        return int(getattr(importlib.import_module(module), func)(argv[1:]))
    args = _parser().parse_args(argv)
    try:
        if args.command == "import-bars":
            return _import_bars(args)
        if args.command == "scan":
            return _scan(args)
        from app.gui import run_gui

        return run_gui(smoke_path=args.smoke, symbol=args.symbol, interval=args.interval, speed=args.speed)
    except TradeCoachError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    import multiprocessing

    multiprocessing.freeze_support()  # the inference worker is a spawned process (also when frozen)
    sys.exit(main())
