"""`python -m app collect …`

    collect schedule --from 2026-12-01 --to 2026-12-31 [--symbols MNQ1! MES1!] [--candles 15m 1h] [--json]
        the planned runs (symbol, kind, exchange time, UTC time): the plan the running scheduler follows
    collect samples --symbol MNQ1! [--from DATE] [--to DATE] [--save] [--json]
        training samples from the stored captures and session minute bars (--save writes training_samples)

Exit codes: 0 ok, 1 failure, 2 bad input."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import date

from core.errors import InputError, TradeCoachError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError("arguments", message)


def _day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InputError(field, f"expected YYYY-MM-DD, got {text!r}") from exc


def _candle_minutes(values: Sequence[str]) -> list[int]:
    from core.market.intervals import parse_interval

    out = []
    for v in values:
        for part in v.split(","):
            part = part.strip()
            if part:
                out.append(int(part) if part.isdigit() else parse_interval(part, "candles").minutes)
    return out


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="tradecoach collect", description="Scheduled collection on the exchange calendar.")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("schedule", help="print the planned runs")
    s.add_argument("--from", dest="start", required=True)
    s.add_argument("--to", dest="end", required=True)
    s.add_argument("--symbols", nargs="+", default=None)
    s.add_argument("--candles", nargs="*", default=[], help="session-candle bar sizes: 1m 5m 15m 1h")
    s.add_argument("--json", action="store_true")
    m = sub.add_parser("samples", help="training samples from stored captures")
    m.add_argument("--symbol", required=True)
    m.add_argument("--from", dest="start", default=None)
    m.add_argument("--to", dest="end", default=None)
    m.add_argument("--save", action="store_true", help="write them to training_samples")
    m.add_argument("--json", action="store_true")
    return p


def _schedule(args: argparse.Namespace) -> int:
    from core.collection.plan import DEFAULT_SYMBOLS, plan_runs

    runs = plan_runs(args.symbols or DEFAULT_SYMBOLS, _day(args.start, "from"), _day(args.end, "to"),
                     candle_intervals=_candle_minutes(args.candles))
    if args.json:
        print(json.dumps({"runs": [r.to_json() for r in runs], "count": len(runs)}))
    else:
        for r in runs:
            j = r.to_json()
            iv = f" {r.interval_minutes}m" if r.interval_minutes else ""
            print(f"{j['exchange_time']}  {j['utc_time']}  {r.symbol:6s} {r.kind}{iv}")
        print(f"{len(runs)} runs")
    return 0


def _samples(args: argparse.Namespace) -> int:
    from core.collection.labels import samples_from_snapshots, save_capture_samples
    from core.config import load_settings
    from core.store import TrainingSamplesRepo
    from core.store.engine import open_ready_store

    start = _day(args.start, "from") if args.start else None
    end = _day(args.end, "to") if args.end else None
    store = open_ready_store(load_settings().database_url)
    try:
        from core.progress import TerminalProgress

        with TerminalProgress(f"samples {args.symbol}", enabled=not args.json, determinate=False):
            samples = samples_from_snapshots(store, args.symbol, start=start, end=end)
            saved = save_capture_samples(TrainingSamplesRepo(store), samples) if args.save else 0
    finally:
        store.close()
    rows = [{"snapshot_id": s.snapshot_id, "session_date": s.session_date.isoformat(),
             "interval_minutes": s.interval_minutes, "anchor": s.anchor, "label_close": s.label_close,
             "label_high": s.label_high, "label_low": s.label_low, "change": s.change, "direction": s.direction,
             "hit_up": s.hit_up, "hit_down": s.hit_down} for s in samples]
    if args.json:
        print(json.dumps({"samples": rows, "count": len(rows), "saved": saved}))
    else:
        print(f"{len(rows)} samples" + (f", {saved} saved to training_samples" if args.save else ""))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in argv
    try:
        try:
            args = _parser().parse_args(argv)
        except SystemExit as exc:  # --help printed its text
            return int(exc.code or 0)
        return _schedule(args) if args.command == "schedule" else _samples(args)
    except InputError as exc:
        _fail(as_json, str(exc), exc.field)
        return 2
    except TradeCoachError as exc:
        _fail(as_json, str(exc), None)
        return 1


def _fail(as_json: bool, message: str, field: str | None) -> None:
    if as_json:
        print(json.dumps({"ok": False, "field": field, "message": message}))
    else:
        print(f"error: {message}", file=sys.stderr)
