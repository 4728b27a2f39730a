"""`python -m app read-chart IMAGE [--json]`: read a candlestick chart screenshot.

Exit codes: 0 read, 2 refused (not a candlestick chart) or bad input (the field and reason on
stderr), 1 an unexpected failure (logged).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from core.chartread.reader import ChartReading, read_chart
from core.errors import InputError

log = logging.getLogger(__name__)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 on bad usage too; keep its message
        self.print_usage(sys.stderr)
        print(f"read-chart: {message}", file=sys.stderr)
        raise SystemExit(2)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="tradecoach read-chart", description="Read a candlestick chart screenshot: bars in price "
                "units, the price-axis fit, symbol/interval guesses, the last price; or a refusal with the reason.")
    p.add_argument("image", type=Path, help="PNG/JPEG screenshot of a candlestick chart")
    p.add_argument("--json", action="store_true", help="print the reading as JSON")
    return p


def format_text(r: ChartReading) -> str:
    if r.refused:
        return f"not read: {r.reason}"
    sym = r.symbol["value"] if r.symbol else "?"
    iv = r.interval["value"] if r.interval else "?"
    lines = [f"{sym} {iv}: {len(r.bars)} candles, {r.scale} price axis from {len(r.labels)} labels "
             f"(residual {r.fit_residual_pct:.4f}%), last {r.last_price}, confidence {r.confidence:.2f}"]
    for b in r.bars[-5:]:
        t = f"{b.time} " if b.time else ""
        lines.append(f"  {t}x={b.x:g}  O {b.open:g}  H {b.high:g}  L {b.low:g}  C {b.close:g}")
    lines += [f"warning: {w}" for w in r.warnings]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        reading = read_chart(args.image)
    except InputError as exc:
        print(f"read-chart: {exc.field}: {exc.reason}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(reading.to_dict(), indent=2))
    else:
        print(format_text(reading))
    if reading.refused:
        print(f"read-chart: image: not a candlestick chart: {reading.reason}", file=sys.stderr)
        return 2
    return 0
