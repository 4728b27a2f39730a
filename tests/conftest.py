"""Shared test set-up: real data from ../shared/data, an isolated data/config dir, Qt offscreen."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytest_plugins = ["tests.chart_fixtures"]  # the chart tests' data and widget fixtures

# Before any Qt import: widget tests render offscreen; never touch the user's real dirs.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")
_session_dir = Path(tempfile.mkdtemp(prefix="tradecoach-tests-"))
os.environ["TRADECOACH_DATA_DIR"] = str(_session_dir / "data")
os.environ["TRADECOACH_CONFIG_DIR"] = str(_session_dir / "config")


def shared_data_dir() -> Path:
    env = os.environ.get("TRADECOACH_SHARED_DATA")
    path = Path(env) if env else REPO.parent / "shared" / "data"
    if not path.is_dir():
        raise RuntimeError(f"real market data not found at {path}; set TRADECOACH_SHARED_DATA")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return shared_data_dir()


@pytest.fixture
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data dir and config dir for one test."""
    monkeypatch.setenv("TRADECOACH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TRADECOACH_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path


@pytest.fixture
def restore_root_logging() -> Iterator[None]:
    """Commands configure the root logger (a file in the data dir); give the next test its own back."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for h in root.handlers:
        if h not in handlers:
            h.close()
    root.handlers[:] = handlers
    root.setLevel(level)
