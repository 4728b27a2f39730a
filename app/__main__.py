"""`python -m app` / `tradecoach`: the window by default, plus CLI commands that use the same
kernel services (app/cli/: one module per command group)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    from core.procs import run_module_from_argv

    rc = run_module_from_argv(argv)  # child processes of a frozen build (training, evaluations): first
    if rc is not None:
        return rc
    from app.cli import run_command

    result = run_command(argv)
    if isinstance(result, int):
        return result
    from app.cli.common import run_guarded
    from app.gui import run_gui

    args = result
    return run_guarded(lambda: run_gui(smoke_path=args.smoke, symbol=args.symbol, interval=args.interval,
                                       speed=args.speed))


if __name__ == "__main__":
    if getattr(sys, "frozen", False):
        # Worker processes are spawned (the inference worker, the CPU pool): a frozen build's
        # child starts here and must be routed to its task. Unfrozen, freeze_support does nothing,
        # and importing multiprocessing is left out of the window's first paint.
        import multiprocessing

        multiprocessing.freeze_support()
    sys.exit(main())
