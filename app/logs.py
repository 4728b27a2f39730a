"""Logging to stderr and a rotating file in the data dir. Secrets never reach a log record:
settings are logged through Settings.redacted()."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path


def setup_logging(data_dir: Path | None, level: int = logging.INFO) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if data_dir is not None:
        log_dir = data_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.handlers.RotatingFileHandler(log_dir / "tradecoach.log", maxBytes=5_000_000,
                                                             backupCount=3, encoding="utf-8"))
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        handlers=handlers, force=True)
