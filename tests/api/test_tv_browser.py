"""The /tv page in real headless Chromium (Debian chromium + chromedriver through Selenium): drawn
from a chart link with a plan; the screenshot must show the entry, stop and target lines, and is
saved to docs/tv_plan.png."""

from __future__ import annotations

import asyncio
import io
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.api.conftest import Api
from tests.conftest import REPO

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
ENTRY, STOP, TP = (0x29, 0x62, 0xFF), (0xF2, 0x36, 0x45), (0x08, 0x99, 0x81)


def _browse(url: str) -> tuple[bytes, str, str]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    profile = tempfile.mkdtemp(prefix="tv-chrome-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", f"--user-data-dir={profile}"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    try:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": 1200, "height": 700, "deviceScaleFactor": 1, "mobile": False})
        driver.get(url)
        WebDriverWait(driver, 20).until(lambda d: d.execute_script("return document.body.dataset.ready"))
        state = driver.execute_script("return document.body.dataset.ready")
        badge = driver.execute_script("return getComputedStyle(document.getElementById('replayed')).display")
        return driver.get_screenshot_as_png(), state, badge
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _has_colour(img: np.ndarray, rgb: tuple[int, int, int], min_pixels: int = 200) -> bool:
    d = np.abs(img[:, :, :3].astype(int) - np.array(rgb)).sum(axis=2)
    return int((d < 40).sum()) >= min_pixels


@pytest.mark.slow
@pytest.mark.skipif(not Path(DRIVER).exists(), reason="apt chromium chromium-driver (in .ci/setup)")
async def test_tv_page_draws_the_plan_in_chromium(api: Api) -> None:
    async with api.client() as c:
        price = (await c.get("/api/v1/live/prices", params={"symbols": "SPY"})).json()["prices"][0]["price"]
        ctx = (await c.get("/gpt/context/SPY", params={"interval": "5m", "lookback": 60})).json()
        atr = ctx["snapshot"]["volatility"].get("true_range_median") or price * 0.002
        entry, stop = round(price, 2), round(price - 2 * atr, 2)
        r = await c.post("/gpt/chart-url", json={"symbol": "SPY", "direction": "long", "entry": entry,
                                                 "stop": stop, "targets": [round(entry + 4 * atr, 2)]})
        assert r.status_code == 200, r.text
        link = r.json()["interactive"]
    png, state, badge = await asyncio.to_thread(_browse, link + "&live=0")
    assert state == "1"
    assert badge != "none"   # "replayed data" shown on the replay feed
    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    assert _has_colour(img, ENTRY) and _has_colour(img, STOP) and _has_colour(img, TP)
    out = REPO / "docs" / "tv_plan.png"
    out.write_bytes(png)
