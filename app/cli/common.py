"""What every command shares: exit codes, the one-line error, JSON output, settings and logging."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from core.errors import DataError, InputError, TradeCoachError

if TYPE_CHECKING:
    from core.config import Settings

log = logging.getLogger(__name__)

OK, FAILED, BAD_INPUT = 0, 1, 2


def error_line(exc: BaseException) -> str:
    return f"error: {exc}"


def run_guarded(fn: Callable[[], int]) -> int:
    """Run a command: its own code, or 2 for bad input (the field named, no traceback), 1 for any
    other failure (one line; the traceback goes to the log file)."""
    try:
        return int(fn() or 0)
    except SystemExit as exc:  # argparse: --help (0) or bad usage (2, the message names the option)
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or OK
        print(exc.code, file=sys.stderr)  # a message (no display for the window, ...)
        return FAILED
    except (InputError, DataError) as exc:
        print(error_line(exc), file=sys.stderr)
        return BAD_INPUT
    except FileNotFoundError as exc:
        print(f"error: {exc.filename}: no such file", file=sys.stderr)
        return BAD_INPUT
    except TradeCoachError as exc:  # a feed that cannot deliver, a clash with running work
        print(error_line(exc), file=sys.stderr)
        return FAILED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # an unexpected failure: one line here, the traceback in the log
        log.exception("command failed")
        print(f"error: unexpected {type(exc).__name__}: {exc}", file=sys.stderr)
        return FAILED


def print_json(obj: Any) -> None:
    print(json.dumps(obj, default=str, allow_nan=False))


def cli_settings(*, log_to_file: bool = True, console_level: int = logging.WARNING) -> Settings:
    """Settings in force, and logging: warnings to stderr, and the same rotating file the window
    writes (so `tradecoach diagnostics` shows what a command did)."""
    from app.logs import setup_logging
    from core.config import load_settings
    from core.diagnostics import secret_values

    settings = load_settings()
    setup_logging(settings.data_dir if log_to_file else None, level=logging.INFO, console_level=console_level,
                  secrets=secret_values(settings, keyring=False))
    return settings
