"""The Predictor panel's read-then-predict flow through its controller and the real kernel: a
dropped screenshot is read, the symbol and price fields take what the chart shows, the forecast goes
by the screenshot path and names it with its measured skill; a picture that is not a chart shows
the reader's refusal reason."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.predictor_controller import PredictorController
from core.config import load_settings
from core.workstation import Workstation
from models.eval_screenshot import render_mplfinance_png
from tests.test_predictor_panel import _drop
from widgets.predictor_panel import PredictorPanel

FIXTURES = Path(__file__).resolve().parent / "data" / "chartread"
SYMBOL = "QQQ"  # printed as the chart's title; the replay feed has no QQQ bars, so no feed path


async def _settled(panel: PredictorPanel, timeout_s: float = 400.0) -> str:
    """The result text once the controller has replaced "Predicting…" (reading + forecast run in
    the kernel's workers)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout_s
    while "Predicting" in panel.result.text():
        if loop.time() > end:
            raise AssertionError(f"still predicting after {timeout_s:.0f} s")
        await asyncio.sleep(0.05)
    return panel.result.text()


@pytest.fixture
async def kernel(isolated_dirs: Path):  # type: ignore[no-untyped-def]
    k = Workstation(load_settings(), today=date(2026, 11, 22))
    await k.start()
    await k.market.replay_pause()
    try:
        yield k
    finally:
        await k.stop()


@pytest.mark.slow
async def test_a_dropped_screenshot_is_read_fills_the_fields_and_is_forecast_by_the_screenshot_path(
        kernel: Workstation, qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """One kernel for both drops: its CPU worker and the model load once (minutes on a loaded CPU)."""
    truth = json.loads((FIXTURES / "lwc_dark_spy5m_60.json").read_text())["bars"]
    cols = {c: np.array([b[c] for b in truth], dtype=np.float64) for c in ("open", "high", "low", "close")}
    ts_ns = np.array([b["time"] for b in truth], dtype=np.int64) * 10**9
    shot = tmp_path / "qqq.png"
    shot.write_bytes(render_mplfinance_png(cols["open"], cols["high"], cols["low"], cols["close"], ts_ns, SYMBOL))
    assert (await kernel.predictor._feed_bars(SYMBOL, 5)) is None  # the premise: no feed bars for it

    panel = PredictorPanel()
    qtbot.addWidget(panel)
    panel.show()
    ctl = PredictorController(kernel, panel, lambda: SYMBOL)  # kept: the signals do not hold it
    panel.symbol.setText("")        # nothing typed: the symbol and price come off the screenshot
    panel.price.setText("")
    _drop(panel, shot)
    text = await _settled(panel)

    last = cols["close"][-1]
    assert panel.symbol.text() == SYMBOL                                   # read off the chart's title
    hint = re.search(r"read off the chart: ([0-9.]+)", panel.price.placeholderText())
    assert hint and float(hint.group(1)) == pytest.approx(last, rel=0.002)
    read = re.search(r"Read: (\S+) · .* · last ([0-9.]+) · (\d+) bars", panel.reading.text())
    assert read and read.group(1) == SYMBOL and int(read.group(3)) >= 55, panel.reading.text()
    assert not panel.thumbnail.pixmap().isNull()                          # the candles over a thumbnail
    # The forecast: anchored on the read price, by the screenshot path, quoting that path's measured skill.
    price = re.search(r"price ([0-9.]+) \(screenshot \(last price\)\)", text)
    assert price and float(price.group(1)) == pytest.approx(last, rel=0.002), text
    assert "screenshot path: touch probability" in text and "Brier skill" in text and "screenshots in" in text
    assert "feed path" not in text and "not measured" not in text
    assert "screenshot candles" in text                                   # volatility from the read candles

    # A picture that is not a chart: the reader's refusal reason is shown, and with no chart, no feed
    # bars for the symbol and no typed price there is nothing to forecast from — the panel says why.
    blank = tmp_path / "blank.png"
    Image.new("RGB", (1200, 800), (19, 23, 34)).save(blank)
    assert panel.symbol.text() == SYMBOL and panel.price.text() == ""
    _drop(panel, blank)
    text = await _settled(panel)
    reason = panel.reading.text()
    assert reason.startswith("No candlestick chart read: ") and "blank" in reason
    assert panel.thumbnail.pixmap().isNull()
    assert "no candlestick chart seen" in text and reason.removeprefix("No candlestick chart read: ") in text
    assert "P(touch" not in text and "Close estimate" not in text
    del ctl
