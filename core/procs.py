"""Child processes of the app that run our own Python modules (training, evaluations).

`python -m module` does not exist in a frozen (PyInstaller) build: there `sys.executable` is the app
itself. The app's entry point therefore accepts `--run-module MODULE ARGS…` and runs the module as
`__main__`; `module_command` builds whichever form works in the current process."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time

RUN_MODULE_FLAG = "--run-module"


def is_frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


def module_command(module: str, args: list[str]) -> list[str]:
    """argv that runs `module` with `args` in a fresh interpreter (source or frozen build)."""
    if is_frozen():
        return [sys.executable, RUN_MODULE_FLAG, module, *args]
    return [sys.executable, "-m", module, *args]


def system_program_env() -> dict[str, str]:
    """Environment for a program of the host system (Chromium and its driver) started by the app.
    A frozen Linux build's bootloader puts the bundle's own libraries first on LD_LIBRARY_PATH (so the
    bundled tesseract finds them) and keeps the user's value in LD_LIBRARY_PATH_ORIG; a system program
    must get the user's value back, or it may load the bundle's older copies of its libraries."""
    env = dict(os.environ)
    if is_frozen() and "LD_LIBRARY_PATH_ORIG" in env:
        env["LD_LIBRARY_PATH"] = env.pop("LD_LIBRARY_PATH_ORIG")
    elif is_frozen():
        env.pop("LD_LIBRARY_PATH", None)
    return env


def run_module_from_argv(argv: list[str]) -> int | None:
    """Handle `--run-module MODULE ARGS…` (called first thing by the app's entry point)."""
    if len(argv) < 2 or argv[0] != RUN_MODULE_FLAG:
        return None
    import runpy

    module, rest = argv[1], argv[2:]
    sys.argv = [module, *rest]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


def exit_with_parent(poll_s: float = 1.0) -> None:
    """In a worker process (a process pool's initializer): exit once the parent is gone. A killed
    app (SIGKILL, a crash) cannot shut its pools down, and its workers would otherwise live on as
    orphans holding memory — a daemon thread notices the re-parenting within `poll_s`."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_s)
        logging.getLogger(__name__).warning("parent process %d is gone: worker %d exits", parent, os.getpid())
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
