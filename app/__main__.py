"""`python -m app` / `tradecoach`: the window by default, plus CLI commands that use the same
kernel services."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from core.errors import TradeCoachError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tradecoach", description="Trading Coach Workstation")
    p.add_argument("--smoke", type=Path, metavar="PATH.png",
                   help="start the full app on the replay feed, wait for live bars, save a window screenshot, exit")
    p.add_argument("--symbol", help="symbol to open (default from settings)")
    p.add_argument("--interval", help="interval to open, e.g. 1m 5m 1h 1D")
    p.add_argument("--speed", type=float, help="replay speed (1 to 1000)")
    sub = p.add_subparsers(dest="command")
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


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "import-bars":
            return _import_bars(args)
        from app.gui import run_gui

        return run_gui(smoke_path=args.smoke, symbol=args.symbol, interval=args.interval, speed=args.speed)
    except TradeCoachError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
