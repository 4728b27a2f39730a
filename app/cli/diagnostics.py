"""`diagnostics`: versions, settings (redacted), database revision, feed states and the last log
lines, secrets scrubbed — what the window's Help → Copy diagnostics puts on the clipboard."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from app.cli.common import cli_settings, print_json
from core.errors import InputError


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    d = sub.add_parser("diagnostics", help="versions, settings, feeds, database and recent log lines (no secrets)",
                       description="A report to paste into a bug report; secrets are scrubbed.")
    d.add_argument("--lines", type=int, default=200, help="last log lines to include (default 200)")
    d.add_argument("--feeds", action="store_true", help="start the kernel to report live feed states (slower)")
    d.add_argument("--json", action="store_true", help="print one JSON object")
    d.set_defaults(func=_diagnostics)


def _diagnostics(args: argparse.Namespace) -> int:
    from core.diagnostics import collect, render

    if not 0 <= args.lines <= 10_000:
        raise InputError("lines", "must be 0..10000")
    settings = cli_settings()
    if args.feeds:
        from core.workstation import Workstation

        async def with_kernel() -> dict[str, Any]:
            async with Workstation.session(settings) as kernel:
                return await kernel.runtime.run_io(lambda: collect(settings, kernel=kernel, log_lines=args.lines))

        report = asyncio.run(with_kernel())
    else:
        report = collect(settings, log_lines=args.lines)
    if args.json:
        print_json(report)
    else:
        print(render(report), end="")
    return 0
