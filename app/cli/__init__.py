"""The `tradecoach` command line: the window by default, and commands that call the same kernel
services as the window and the GPT routes. One module per command group; commands implemented next
to their subsystem are forwarded with their arguments as they are.

Exit codes: 0 ok, 1 failure (a feed, the network, a capture), 2 bad input (one line naming the
field, never a traceback)."""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

from app.cli.common import run_guarded

# Commands implemented next to their subsystem; `tradecoach CMD ARGS…` forwards ARGS as they are.
FORWARDED = {
    "predict": ("app.predict_cli", "main", "forecast the session from a chart screenshot"),
    "read-chart": ("core.chartread.cli", "main", "read a candlestick chart screenshot into bars"),
    "train": ("models.cli", "main_train", "train the chart predictor"),
    "eval-scanner": ("core.scanner.cli", "main", "the playbooks' record on a bar history"),
    "eval-predictor": ("models.cli", "main_eval", "evaluate a predictor checkpoint against the baselines"),
    "capture": ("core.capture.cli", "main", "capture a chart image now (screen, region, chart, tradingview)"),
    "collect": ("core.collection.cli", "main", "the collection schedule and training samples from captures"),
}
COMMANDS = ("serve", "tokens", "scan", "refit-calibration",
            "context", "contracts", "predict", "read-chart", "train", "eval-scanner",
            "eval-predictor", "import-bars", "capture", "collect", "db", "diagnostics")


def build_parser() -> argparse.ArgumentParser:
    # The command groups are imported here, not at module level: the window's start does not
    # need them (see window_arguments).
    from app.cli import data, diagnostics, market, serve

    p = _window_parser()
    sub = p.add_subparsers(dest="command", metavar="{" + ",".join(COMMANDS) + "}")
    serve.add_parsers(sub)
    data.add_parsers(sub)
    market.add_parsers(sub)
    diagnostics.add_parsers(sub)
    for name, (_module, _func, text) in FORWARDED.items():
        sub.add_parser(name, help=f"{text} (`tradecoach {name} --help`)", add_help=False)
    return p


def _window_parser(*, exit_on_error: bool = True) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tradecoach", description="Trading Coach Workstation: with no command, the window.",
        exit_on_error=exit_on_error,
        epilog="`tradecoach COMMAND --help` for a command's options. Exit codes: 0 ok, 1 failure, 2 bad input. "
               "Logs: DATA_DIR/logs/tradecoach.log (`tradecoach diagnostics` shows the path).")
    p.add_argument("--smoke", type=Path, metavar="PATH.png",
                   help="start the full app on the replay feed, wait for live bars, save a window screenshot, exit")
    p.add_argument("--symbol", help="symbol to open (default from settings)")
    p.add_argument("--interval", help="interval to open, e.g. 1m 5m 1h 1D")
    p.add_argument("--speed", type=float, help="replay speed (1 to 1000)")
    return p


def window_arguments(argv: list[str]) -> argparse.Namespace | None:
    """The window's options when argv names no command and asks no help (the double-click path),
    parsed without importing the command groups; None when the full parser must decide."""
    if any(a in ("-h", "--help") for a in argv) or (argv and not argv[0].startswith("-")):
        return None
    try:
        args, rest = _window_parser(exit_on_error=False).parse_known_args(argv)
    except argparse.ArgumentError:   # a bad value: the full parser reports it (exit 2, the option named)
        return None
    if rest:
        return None      # options followed by a command, or an unknown option
    args.command = None
    return args


def forwarded(argv: list[str]) -> int | None:
    """Run a forwarded command, or None when argv names none."""
    if not argv or argv[0] not in FORWARDED:
        return None
    module, func, _text = FORWARDED[argv[0]]
    return run_guarded(lambda: getattr(importlib.import_module(module), func)(argv[1:]))


def run_command(argv: list[str]) -> int | argparse.Namespace:
    """Run the command argv names and return its exit code; with no command, the window's options."""
    rc = forwarded(argv)
    if rc is not None:
        return rc
    window = window_arguments(argv)
    if window is not None:
        return window
    holder: dict[str, argparse.Namespace] = {}

    def parse() -> int:
        holder["args"] = build_parser().parse_args(argv)
        return 0

    rc = run_guarded(parse)
    if "args" not in holder:
        return rc  # --help printed (0), or bad usage (2, the message names the option)
    args = holder["args"]
    if args.command is None:
        return args
    return run_guarded(lambda: args.func(args))
