"""`python -m app` / `tradecoach`: the window by default, plus CLI commands that use the same
kernel services."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import sys
from pathlib import Path

from core.errors import InputError, TradeCoachError

# Commands implemented next to their subsystem; `python -m app CMD ARGS…` forwards ARGS as they are.
FORWARDED = {
    "eval-scanner": ("core.scanner.cli", "main"),
    "predict": ("app.predict_cli", "main"),
    "train": ("models.cli", "main_train"),
    "eval-predictor": ("models.cli", "main_eval"),
    "capture": ("core.capture.cli", "main"),
    "collect": ("core.collection.cli", "main"),
    "read-chart": ("core.chartread.cli", "main"),
}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tradecoach", description="Trading Coach Workstation")
    p.add_argument("--smoke", type=Path, metavar="PATH.png",
                   help="start the full app on the replay feed, wait for live bars, save a window screenshot, exit")
    p.add_argument("--symbol", help="symbol to open (default from settings)")
    p.add_argument("--interval", help="interval to open, e.g. 1m 5m 1h 1D")
    p.add_argument("--speed", type=float, help="replay speed (1 to 1000)")
    sub = p.add_subparsers(dest="command", metavar="{import-bars,scan,serve,tokens," + ",".join(FORWARDED) + "}")
    scan = sub.add_parser("scan", help="run every playbook on the replay feed's latest bars and print the plans")
    scan.add_argument("--symbols", nargs="*", help="symbols (default: all replay symbols)")
    scan.add_argument("--scan-interval", default="5m", dest="scan_interval")
    scan.add_argument("--style", default="intraday", choices=["scalp", "intraday", "swing", "leaps"])
    scan.add_argument("--at", metavar="HH:MM", help="replay: scan at this exchange time of the replayed day "
                      "(default: the replay's start time)")
    scan.add_argument("--json", action="store_true")
    serve = sub.add_parser("serve", help="run the kernel and the GPT API server headless (no window)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    for name in FORWARDED:
        sub.add_parser(name, help=f"see `python -m app {name} --help`", add_help=False)
    tok = sub.add_parser("tokens", help="API tokens for the GPT: add USER (prints the token once), list, revoke")
    tok_sub = tok.add_subparsers(dest="tokens_command", required=True)
    tok_add = tok_sub.add_parser("add", help="create a token for USER and print it (stored hashed)")
    tok_add.add_argument("user")
    tok_add.add_argument("--admin", action="store_true", help="may act for another user (X-User-Id)")
    tok_sub.add_parser("list", help="active tokens (prefix, user, created)")
    tok_rev = tok_sub.add_parser("revoke", help="revoke by id, shown prefix, or every token of a user")
    tok_rev.add_argument("ident")
    imp = sub.add_parser("import-bars", help="import a CSV/Parquet bar file into the store")
    imp.add_argument("file", type=Path)
    imp.add_argument("--symbol", required=True, dest="import_symbol")
    imp.add_argument("--tz", help="time zone of naive timestamps (default America/New_York)")
    imp.add_argument("--allow-missing-volume", action="store_true", help="treat missing volume as 0")
    imp.add_argument("--drop-invalid", action="store_true",
                     help="drop impossible bars (prices <= 0, open/close outside low-high, ...) and count them")
    imp.add_argument("--json", action="store_true", help="print the result as JSON")
    return p


def _import_bars(args: argparse.Namespace) -> int:
    from app.logs import setup_logging
    from core.config import load_settings
    from core.store import import_bars_file, open_ready_store

    settings = load_settings()
    setup_logging(None)

    def progress(fraction: float, message: str) -> None:
        if not args.json:
            print(f"\r  {fraction:4.0%}  {message}", end="\n" if fraction >= 1 else "", file=sys.stderr, flush=True)

    store = open_ready_store(settings.database_url)
    try:
        # Streamed in bounded chunks; the file's range replaces what was stored, in one transaction.
        res = import_bars_file(store, args.file, args.import_symbol, tz=args.tz,
                               allow_missing_volume=args.allow_missing_volume, drop_invalid=args.drop_invalid,
                               progress=progress)
    finally:
        store.close()
    info = {**res.to_dict(), "rows": res.inserted, "database": settings.redacted()["db_url"]}
    print(json.dumps(info) if args.json else
          f"imported {res.inserted} {res.interval.name} bars of {res.symbol} ({info['first']} → {info['last']}) "
          f"into {info['database']}: {res.replaced} replaced, {res.left} left outside the file's range"
          + (f", {res.dropped} invalid rows dropped" if res.dropped else "")
          + "".join(f"\n  note: {n}" for n in res.notes))
    return 0


def _scan_time(kernel: object, text: str) -> int:
    """HH:MM exchange time on the replayed day → UTC ns."""
    from datetime import datetime, time

    from core.workstation import NY, Workstation

    assert isinstance(kernel, Workstation)
    try:
        hh, mm = (int(x) for x in text.split(":"))
        at = time(hh, mm)
    except ValueError as exc:
        raise InputError("at", f"expected HH:MM (exchange time), got {text!r}") from exc
    day = datetime.fromtimestamp(kernel.replay_clock.now_ns() / 1e9, NY).date()
    return int(datetime.combine(day, at, NY).timestamp() * 1e9)


def _scan(args: argparse.Namespace) -> int:
    from app.logs import setup_logging
    from core.config import load_settings
    from core.scanner.setups import format_report
    from core.workstation import NY, Workstation

    settings = load_settings()
    setup_logging(None, level=30)

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
            print(json.dumps({**report.to_dict(), "scanned_at": scanned_at.isoformat(), "feed": feed},
                             default=str))
        else:
            print(f"scanned at {scanned_at.astimezone(NY):%Y-%m-%d %H:%M} ET ({feed})")
            print(format_report(report))
        return 0

    return asyncio.run(run())


def _tokens(args: argparse.Namespace) -> int:
    from core.api.auth import TokensRepo
    from core.config import load_settings
    from core.store.engine import open_ready_store

    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = open_ready_store(settings.database_url)
    try:
        repo = TokensRepo(store)
        if args.tokens_command == "add":
            token, info = repo.add(args.user, admin=args.admin)
            print(token)
            print(f"token {info.id} for {info.user}{' (admin)' if info.admin else ''}: shown once, stored hashed",
                  file=sys.stderr)
        elif args.tokens_command == "list":
            for t in repo.list_tokens():
                print(f"{t.id}\t{t.prefix}…\t{t.user}{' admin' if t.admin else ''}\t{t.created_at:%Y-%m-%d %H:%M} UTC")
        else:
            n = repo.revoke(args.ident)
            print(f"revoked {n} token(s)")
            return 0 if n else 1
    finally:
        store.close()
    return 0


def _serve(args: argparse.Namespace) -> int:
    """Headless: the kernel and the API server on one loop, no Qt imported. Ctrl-C (SIGINT) or
    SIGTERM stops it in order within 2 s."""
    import signal

    from app.logs import setup_logging
    from core.api.server import ApiServer
    from core.config import load_settings
    from core.workstation import Workstation

    settings = load_settings()
    setup_logging(settings.data_dir)

    async def run() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):  # Windows: KeyboardInterrupt ends asyncio.run
                pass
        async with Workstation.session(settings) as kernel:
            server = ApiServer(kernel, args.host, args.port)
            address = await server.start()
            print(f"serving on {address.url} ({kernel.market.status().detail})", flush=True)
            try:
                await stop.wait()
            finally:
                print("stopping…", flush=True)
                await server.stop()
        print("stopped", flush=True)
        return 0

    return asyncio.run(run())


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    from core.procs import run_module_from_argv

    rc = run_module_from_argv(argv)  # child processes of a frozen build (training, evaluations)
    if rc is not None:
        return rc
    if argv and argv[0] in FORWARDED:
        module, func = FORWARDED[argv[0]]
        return int(getattr(importlib.import_module(module), func)(argv[1:]))
    args = _parser().parse_args(argv)
    try:
        if args.command == "import-bars":
            return _import_bars(args)
        if args.command == "scan":
            return _scan(args)
        if args.command == "serve":
            return _serve(args)
        if args.command == "tokens":
            return _tokens(args)
        from app.gui import run_gui

        return run_gui(smoke_path=args.smoke, symbol=args.symbol, interval=args.interval, speed=args.speed)
    except TradeCoachError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    import multiprocessing

    multiprocessing.freeze_support()  # the inference worker is a spawned process (also when frozen)
    sys.exit(main())
