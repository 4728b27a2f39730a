"""`python -m app predict IMAGE --symbol S [--price P] [--expected LEVEL] [--bars FILE] [--time ISO] …`

The same predictor service the window's panel and the API call: the forecast, stored unless
`--no-store`. Exit codes: 0 ok, 2 bad input (the message names the field)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime
from pathlib import Path

from core.errors import InputError, TradeCoachError


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tradecoach predict", description="Forecast the session from a chart screenshot.")
    p.add_argument("image", type=Path, help="chart screenshot (PNG/JPEG)")
    p.add_argument("--symbol", help="default: the symbol read off the chart's legend")
    p.add_argument("--price", type=float,
                   help="anchor price (default: the bars', the feed's or the chart's last price)")
    p.add_argument("--expected", type=float, help="a level: report P(touch before the close)")
    p.add_argument("--bars", type=Path, help="recent bars (CSV/Parquet) instead of the feed's")
    p.add_argument("--time", help="screenshot time, ISO 8601 with offset (default: the feed's clock)")
    p.add_argument("--checkpoint", type=Path, help="default: the shipped model")
    p.add_argument("--no-store", action="store_true", help="do not store the prediction")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    try:
        return asyncio.run(_run(args))
    except TradeCoachError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _time(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InputError("time", f"expected ISO 8601, got {text!r}") from exc
    if at.tzinfo is None:
        raise InputError("time", "needs a UTC offset, e.g. 2024-05-01T14:30:00-04:00")
    return at


async def _run(args: argparse.Namespace) -> int:
    from app.logs import setup_logging
    from core.config import load_settings
    from core.market.importer import read_bars_file
    from core.services.predictor import PredictRequest
    from core.workstation import Workstation
    from models.forecast_text import forecast_lines

    at = _time(args.time)
    try:
        image = args.image.read_bytes()
    except OSError as exc:
        raise InputError("image", f"cannot read {args.image}: {exc.strerror or exc}") from exc
    bars = None
    if args.bars is not None:
        if not args.symbol:
            raise InputError("symbol", "is required with --bars")
        bars = read_bars_file(args.bars, args.symbol).bars
    settings = load_settings()
    setup_logging(None, level=30)
    kernel = Workstation(settings)
    kernel.runtime.adopt_running_loop()
    # The feed is needed only for what the command line did not give.
    await kernel.start(feeds=bars is None)
    try:
        if args.checkpoint is not None:
            await kernel.predictor.reload(args.checkpoint)
        result = await kernel.predictor.predict(PredictRequest(
            image=image, symbol=args.symbol or "", level=args.expected, price=args.price, at=at, bars=bars,
            bars_source="bars file" if bars is not None else None,
            image_path=str(args.image.resolve()), store=not args.no_store))
    finally:
        await kernel.stop()
    if args.json:
        print(json.dumps(result.to_dict(), default=str))
    else:
        print(f"Path: {result.path} — {result.inputs}")
        print("\n".join(forecast_lines(result.forecast, result.prediction_id)))
    return 0
