"""`eval-scanner --bars FILE [--symbol S] [--tz TZ] [--json]`: the playbooks' record on a history.

`python -m app eval-scanner …` calls `main(argv)`. Exit codes: 0 ok, 2 bad input or data.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import replace
from pathlib import Path

from core.errors import DataError, InputError
from core.market.importer import read_bars_file
from core.scanner.calibration import save_calibration
from core.scanner.evaluate import EvalReport, evaluate, render_armed

log = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tradecoach eval-scanner", description="Walk a bar history without look-ahead, "
                                "resolve every plan each playbook would have issued, report per playbook.")
    p.add_argument("--bars", required=True, help="CSV or Parquet bar file (any layout the importer accepts)")
    p.add_argument("--symbol", default=None, help="symbol (default: from the file name)")
    p.add_argument("--tz", default=None, help="time zone of naive timestamps (default America/New_York)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--armed", action="store_true",
                   help="also report how often each playbook's armed setups trigger, and how they then did")
    p.add_argument("--save-calibration", type=Path, default=None, metavar="PATH",
                   help="write the fitted confidence calibration (JSON) for live scans to use")
    return p


def _symbol_from(path: Path) -> str:
    return path.name.split("_")[0].split(".")[0].rstrip("1!").upper() or "UNKNOWN"


def _fmt(x: float | None, spec: str) -> str:
    return "—" if x is None or x != x else format(x, spec)


def render(report: EvalReport, seconds: float) -> str:
    lines = [f"eval-scanner {report.symbol} {report.interval}: {report.sessions} sessions "
             f"({seconds:.1f} s)", "",
             f"{'playbook':24s} {'signals':>7s} {'hit':>6s} {'mean R':>7s} {'exp R':>7s} "
             f"{'MFE R':>6s} {'MAE R':>6s} {'rej':>5s}"]
    for name, s in report.playbooks.items():
        lines.append(f"{name:24s} {s.signals:7d} {_fmt(s.hit_rate, '6.1%')} {_fmt(s.mean_r, '7.3f')} "
                     f"{_fmt(s.expectancy_r, '7.3f')} {_fmt(s.mfe, '6.2f')} {_fmt(s.mae, '6.2f')} {s.rejected:5d}")
    lines += ["", f"calibration: fitted on {report.fit_sessions} sessions, ECE on the next "
                  f"{report.test_sessions} = {_fmt(report.ece, '.3f')}",
              f"{'bin':>11s} {'n':>6s} {'conf':>6s} {'hit':>6s}"]
    for b in report.bins:
        lines.append(f"{b['lo']:.1f}–{b['hi']:.1f} {b['count']:6d} {b['mean_confidence']:6.3f} {b['hit_rate']:6.3f}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    path = Path(args.bars)
    symbol = (args.symbol or _symbol_from(path)).upper()
    t0 = time.perf_counter()
    try:
        from core.progress import TerminalProgress

        with TerminalProgress(f"eval-scanner {path.name}", enabled=not args.json, determinate=False):
            imported = read_bars_file(path, symbol, tz=args.tz, allow_missing_volume=True)
            report = evaluate(imported.bars, symbol, imported.interval, armed=args.armed)
    except (InputError, DataError) as exc:
        print(f"eval-scanner: {exc}", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - t0
    if args.save_calibration is not None:
        # The same file format the plans service reads (core.scanner.calibration).
        cal = replace(report.calibration, source=f"{symbol} {path.name}")
        save_calibration(cal, args.save_calibration, {"symbol": symbol, "file": path.name,
                                                      "interval": imported.interval.name})
    if args.json:
        print(json.dumps(report.to_dict(), allow_nan=False))
    else:
        print(render(report, seconds))
        if args.armed:
            print(render_armed(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
