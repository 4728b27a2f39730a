"""TradingView capture in real headless Chromium against local pages that imitate its sign-in
flow and chart (served on 127.0.0.1; nothing leaves the machine)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.capture.service import CaptureService
from core.capture.tradingview import (
    ChartNotReady,
    LoginFailed,
    TradingViewBrowser,
    TradingViewConfig,
    TradingViewSession,
    tradingview_interval,
    tradingview_symbol,
)
from core.errors import InputError
from core.store import open_store, sqlite_url
from core.store.engine import Store
from tests.capture_pages import GOOD_PASSWORD, GOOD_USER, ROBOT_USER, _PagesServer, pages_server

BG, UP, DOWN = (0x13, 0x17, 0x22), (0x26, 0xA6, 0x9A), (0xEF, 0x53, 0x50)


@pytest.fixture(scope="module")
def site() -> Iterator[_PagesServer]:
    with pages_server() as srv:
        yield srv


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(sqlite_url(tmp_path / "tc.db"))
    s.migrate()
    yield s
    s.close()


def cfg(site: _PagesServer, user: str | None = None, password: str | None = None, **kw: object) -> TradingViewConfig:
    opts: dict[str, object] = {"page_timeout_s": 10.0, "chart_timeout_s": 10.0, "settle_s": 0.1, **kw}
    return TradingViewConfig(base_url=site.base_url, username=user, password=password, **opts)  # type: ignore[arg-type]


def colours(png: bytes) -> tuple[tuple[int, int], set[tuple[int, int, int]]]:
    im = Image.open(io.BytesIO(png)).convert("RGB")
    px = np.asarray(im).reshape(-1, 3)
    return im.size, {tuple(int(v) for v in c) for c in np.unique(px, axis=0)}


def test_symbol_and_interval_codes() -> None:
    assert tradingview_symbol("mnq1!") == "CME_MINI:MNQ1!"
    assert tradingview_symbol("MES1!") == "CME_MINI:MES1!"
    assert tradingview_symbol("SPY") == "SPY" and tradingview_symbol("NASDAQ:AAPL") == "NASDAQ:AAPL"
    assert [tradingview_interval(i) for i in ("1m", "5m", "15m", "1h", "1D")] == ["1", "5", "15", "60", "D"]
    with pytest.raises(InputError, match="interval"):
        tradingview_interval("7m")


def test_signed_in_capture_stores_the_drawn_chart(site: _PagesServer, store: Store, tmp_path: Path) -> None:
    svc = CaptureService(store, tmp_path / "data", tradingview=cfg(site, GOOD_USER, GOOD_PASSWORD))
    res = svc.tradingview("MNQ1!", "15m")
    assert ("POST", "/accounts/signin/") in site.requests and site.logins[-1] == GOOD_USER
    assert ("GET", "/chart/?symbol=CME_MINI:MNQ1%21&interval=15") in site.requests
    path = Path(res.path)
    assert path.parent == tmp_path / "data" / "raw" and path.name.startswith("MNQ1!_manual_")
    size, seen = colours(path.read_bytes())
    assert size == (800, 400) == (res.width, res.height)   # the chart container, not the page
    assert {BG, UP, DOWN} <= seen                             # the candles drawn after the page loaded
    row = svc.repo.get(res.snapshot_id)
    assert row is not None and row.image_path == res.path and row.snapshot_type == "manual"


def test_anonymous_capture_never_posts_a_login(site: _PagesServer) -> None:
    before = len(site.logins)
    with TradingViewBrowser(cfg(site)) as tv:
        png = tv.chart_png("SPY", "5m")
        assert not tv.signed_in
    assert len(site.logins) == before
    assert {BG, UP} <= colours(png)[1]


def test_wrong_password_is_reported_with_the_pages_reason(site: _PagesServer) -> None:
    with TradingViewBrowser(cfg(site, GOOD_USER, "wrong")) as tv, pytest.raises(LoginFailed) as err:
        tv.login()
    assert err.value.reason == "rejected" and err.value.detail == "Invalid username or password"
    assert "wrong" not in str(err.value)   # the password never reaches a message


def test_captcha_wall_is_reported(site: _PagesServer, store: Store, tmp_path: Path) -> None:
    svc = CaptureService(store, tmp_path / "data", tradingview=cfg(site, ROBOT_USER, "x"))
    with pytest.raises(LoginFailed) as err:
        svc.tradingview("MES1!", "5m")
    assert err.value.reason == "captcha"
    assert svc.repo.list_snapshots() == []                 # no anonymous capture behind the trader's back
    assert not (tmp_path / "data" / "raw").exists()


def test_a_chart_that_never_draws_times_out(site: _PagesServer) -> None:
    with TradingViewBrowser(cfg(site, chart_timeout_s=1.0)) as tv, pytest.raises(ChartNotReady, match="NEVER"):
        tv.chart_png("NEVER", "1m")


@pytest.mark.slow
async def test_scheduled_captures_share_one_signed_in_browser(site: _PagesServer, store: Store,
                                                             tmp_path: Path) -> None:
    from datetime import date

    from core.clock import ReplayClock
    from core.collection.scheduler import CaptureRequest, tradingview_capture

    session = TradingViewSession(cfg(site, GOOD_USER, GOOD_PASSWORD))
    clock = ReplayClock(1_797_000_000_000_000_000, paused=True)
    svc = CaptureService(store, tmp_path / "data", clock=clock)
    capture = tradingview_capture(svc, session)
    posts = site.requests.count(("POST", "/accounts/signin/"))
    try:
        day = date(2026, 12, 9)
        first = await capture(CaptureRequest("MES1!", "before", day, clock.now_ns()))
        bar = clock.now_ns() - 15 * 60 * 10**9
        second = await capture(CaptureRequest("MES1!", "session_candle", day, clock.now_ns(), 15, bar))
    finally:
        await asyncio.to_thread(session.close)
    assert session.logins == 1 and site.requests.count(("POST", "/accounts/signin/")) == posts + 1
    assert ("GET", "/chart/?symbol=CME_MINI:MES1%21&interval=15") in site.requests
    rows = {r.id: r for r in svc.repo.list_snapshots()}
    assert rows[first].snapshot_type == "before" and rows[second].interval_minutes == 15
    assert Path(rows[second].image_path).name.startswith("MES1!_session_20261209_15m_")
    assert {BG, UP, DOWN} <= colours(Path(rows[second].image_path).read_bytes())[1]
