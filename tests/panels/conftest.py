"""A window on a real kernel (replay feed, offscreen) and a wait that runs both Qt and asyncio."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import date
from pathlib import Path

import pytest
import pytest_asyncio
from PySide6.QtWidgets import QApplication

from core.config import load_settings
from core.workstation import Workstation


async def until(pred: Callable[[], object], timeout: float = 20.0, what: str = "condition") -> None:
    """Spin Qt events and the test's asyncio loop (where the window's coroutines run) until `pred`."""
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        QApplication.processEvents()
        await asyncio.sleep(0.02)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def window(tmp_path_factory: pytest.TempPathFactory, qapp) -> AsyncIterator[object]:  # type: ignore[no-untyped-def]
    """One window for a test module (its start-up — store, feeds, the first live scan — dominates):
    the module's tests run in file order on the state the previous ones left."""
    from app.main_window import MainWindow

    root: Path = tmp_path_factory.mktemp("panels")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRADECOACH_DATA_DIR", str(root / "data"))
        mp.setenv("TRADECOACH_CONFIG_DIR", str(root / "config"))
        k = Workstation(load_settings(), today=date(2026, 11, 22))
        await k.start()
        w = MainWindow(k)
        await w.open_initial("SPY", "5m")
        try:
            yield w
        finally:
            w.close()
            await k.stop()
