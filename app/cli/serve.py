"""`serve`: the kernel and the GPT API server headless (no Qt imported)."""

from __future__ import annotations

import argparse
import asyncio
import logging

log = logging.getLogger(__name__)


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    serve = sub.add_parser("serve", help="run the kernel and the GPT API server headless (no window)",
                           description="The kernel and the GPT API server, no window. Ctrl-C stops it. "
                           "Logs: DATA_DIR/logs/tradecoach.log.")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    """Ctrl-C (SIGINT) or SIGTERM stops it in order within 2 s."""
    import signal

    from app.cli.common import cli_settings
    from core.api.server import ApiServer
    from core.errors import InputError
    from core.workstation import Workstation

    if not 0 <= args.port <= 65535:
        raise InputError("port", "must be 0..65535")
    settings = cli_settings(console_level=logging.INFO)
    log.info("settings: %s", settings.redacted())

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
