"""Logging to stderr and a rotating file, DATA_DIR/logs/tradecoach.log (5 MB, 3 old files kept).
Secrets never reach a log record: settings are logged through Settings.redacted(), and a filter on
every handler masks the configured secret values and anything shaped like a credential."""

from __future__ import annotations

import logging
import logging.handlers
from collections.abc import Sequence
from pathlib import Path

from core.diagnostics import scrub
from core.paths import log_file


class ScrubSecrets(logging.Filter):
    """Rewrites the record's message with secrets masked (the last line of defence)."""

    def __init__(self, secrets: Sequence[str] = ()) -> None:
        super().__init__()
        self._secrets = sorted(set(secrets), key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = scrub(message, self._secrets)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def setup_logging(data_dir: Path | None, level: int = logging.INFO, *, console_level: int | None = None,
                  secrets: Sequence[str] = ()) -> Path | None:
    """`level` for the file, `console_level` (default the same) for stderr. Returns the log file's
    path (None: stderr only)."""
    console = logging.StreamHandler()
    console.setLevel(level if console_level is None else console_level)
    handlers: list[logging.Handler] = [console]
    path = None
    if data_dir is not None:
        path = log_file(data_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.handlers.RotatingFileHandler(path, maxBytes=5_000_000, backupCount=3,
                                                            encoding="utf-8")
        file_handler.setLevel(level)
        handlers.append(file_handler)
    scrubber = ScrubSecrets(secrets)
    for h in handlers:
        h.addFilter(scrubber)
    lowest = min(h.level for h in handlers)
    logging.basicConfig(level=lowest, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        handlers=handlers, force=True)
    return path
