"""Captures: seed file names, the saved region, the kernel's chart render, and real mss grabs of a
real X server (Xvfb, painted with xsetroot) — pixel colours checked, not just file existence."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.capture import cli
from core.capture.chart import chart_png
from core.capture.naming import capture_name, session_candle_name
from core.capture.region import Region, load_region, region_path, save_region
from core.capture.screen import ScreenUnavailable, grab_png
from core.capture.service import CaptureService
from core.capture.store import save_png
from core.errors import DataError, InputError
from core.market.bundle import BarLibrary
from core.paths import bundled_data_dir
from core.store import SnapshotsRepo, open_store, sqlite_url
from core.store.engine import Store

ORANGE = (255, 128, 0)


def _free_display() -> int:
    for n in range(90, 200):
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            return n
    raise RuntimeError("no free X display number")


@pytest.fixture(scope="module")
def xvfb() -> Iterator[str]:
    """Our own Xvfb (never the developer's desktop), its root painted orange."""
    if not shutil.which("Xvfb") or not shutil.which("xsetroot"):
        pytest.fail("Xvfb and xsetroot are required (apt: xvfb x11-xserver-utils; see .ci/setup)")
    n = _free_display()
    # -noreset: without it the server resets (and forgets the root colour) when xsetroot disconnects.
    proc = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", "640x480x24", "-nolisten", "tcp", "-noreset"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    display = f":{n}"
    try:
        deadline = time.monotonic() + 10
        while not Path(f"/tmp/.X11-unix/X{n}").exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Xvfb {display} did not start")
            time.sleep(0.05)
        subprocess.run(["xsetroot", "-solid", "#ff8000"], env={**os.environ, "DISPLAY": display}, check=True,
                       timeout=10)
        yield display
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(sqlite_url(tmp_path / "tc.db"))
    s.migrate()
    yield s
    s.close()


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


# -- names and files -----------------------------------------------------------------------------
def test_seed_file_names_use_exchange_time() -> None:
    ts = datetime(2026, 12, 21, 15, 15, 2, tzinfo=UTC)          # 10:15:02 EST
    assert capture_name("mnq1!", "manual", ts) == "MNQ1!_manual_20261221_101502.png"
    summer = datetime(2026, 7, 1, 13, 30, tzinfo=UTC)             # 09:30 EDT
    assert capture_name("ES", "before", summer) == "ES_before_20260701_093000.png"
    assert session_candle_name("MES1!", date(2026, 12, 21), 15, ts) == "MES1!_session_20261221_15m_1015.png"
    assert capture_name("BRK/B", "after", ts).startswith("BRK_B_after_")
    with pytest.raises(InputError, match="timestamp"):
        capture_name("SPY", "manual", datetime(2026, 1, 1))


def test_save_png_writes_file_and_row_and_keeps_same_second_grabs(store: Store, tmp_path: Path) -> None:
    png, _ = chart_png(BarLibrary(bundled_data_dir()).minute("SPY").tail(80))
    repo = SnapshotsRepo(store)
    ts = datetime(2026, 12, 21, 15, 15, 2, tzinfo=UTC)
    a = save_png(repo, tmp_path, png, symbol="SPY", snapshot_type="manual", timestamp=ts, source="app")
    b = save_png(repo, tmp_path, png, symbol="SPY", snapshot_type="manual", timestamp=ts, source="app")
    assert Path(a.path).name == "SPY_manual_20261221_101502.png"
    assert Path(b.path).name == "SPY_manual_20261221_101502_2.png"
    assert Path(a.path).read_bytes() == png and (a.width, a.height) == (128, 64)
    rows = repo.list_snapshots(symbol="SPY")
    assert {r.image_path for r in rows} == {a.path, b.path}
    with pytest.raises(InputError, match="image"):
        save_png(repo, tmp_path, b"GIF89a....", symbol="SPY", snapshot_type="manual", timestamp=ts, source="app")
    with pytest.raises(InputError, match="bar_time"):
        save_png(repo, tmp_path, png, symbol="SPY", snapshot_type="session_candle", timestamp=ts, source="chart")


def test_chart_render_is_the_canonical_theme_stable_image() -> None:
    bars = BarLibrary(bundled_data_dir()).minute("SPY").tail(200)
    one, _ = chart_png(bars)
    two, _ = chart_png(bars)
    assert one == two                                   # same bars, same pixels
    from models.render import Look, render

    tail = bars.tail(64)
    expected = render(tail.open, tail.high, tail.low, tail.close, tail.volume, Look())
    assert np.array_equal(pixels(one), expected)
    assert pixels(chart_png(bars, scale=3)[0]).shape == (192, 384, 3)
    with pytest.raises(InputError, match="bars"):
        chart_png(bars.tail(0))


# -- the saved region ----------------------------------------------------------------------------
def test_region_persists_and_bad_regions_name_the_field(tmp_path: Path) -> None:
    assert load_region(tmp_path) is None
    save_region(tmp_path, Region(10, 20, 300, 200))
    assert load_region(tmp_path) == Region(10, 20, 300, 200)
    with pytest.raises(InputError, match="width"):
        Region(0, 0, 4, 100)
    with pytest.raises(InputError, match="left"):
        Region(1.5, 0, 100, 100)  # type: ignore[arg-type]
    region_path(tmp_path).write_text('{"left": 1}')
    with pytest.raises(DataError, match="lacks top"):
        load_region(tmp_path)


# -- real screen grabs ---------------------------------------------------------------------------
def test_mss_grabs_the_real_x_screen(xvfb: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPLAY", xvfb)
    png, ms = grab_png()
    px = pixels(png)
    assert px.shape == (480, 640, 3) and ms > 0
    assert (px == ORANGE).all()                       # the colour xsetroot painted, read back from X
    png1, _ = grab_png(monitor=1)
    assert pixels(png1).shape == (480, 640, 3)
    reg, _ = grab_png(region=Region(100, 50, 64, 32))
    assert pixels(reg).shape == (32, 64, 3) and (pixels(reg) == ORANGE).all()
    with pytest.raises(InputError, match="region"):
        grab_png(region=Region(600, 0, 100, 100))     # beyond the 640-pixel-wide screen
    with pytest.raises(InputError, match="monitor"):
        grab_png(monitor=5)


def test_no_display_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    with pytest.raises(ScreenUnavailable, match="DISPLAY"):
        grab_png()


def test_capture_service_region_uses_the_saved_rectangle(xvfb: str, monkeypatch: pytest.MonkeyPatch,
                                                         store: Store, tmp_path: Path) -> None:
    monkeypatch.setenv("DISPLAY", xvfb)
    svc = CaptureService(store, tmp_path)
    with pytest.raises(InputError, match="region"):
        svc.region("MNQ1!")
    svc.save_region(Region(0, 0, 200, 100))
    res = svc.region("MNQ1!")
    assert (res.width, res.height) == (200, 100) and res.source == "region"
    assert Path(res.path).parent == tmp_path / "raw" and Path(res.path).name.startswith("MNQ1!_manual_")
    assert (pixels(Path(res.path).read_bytes()) == ORANGE).all()


# -- the CLI -------------------------------------------------------------------------------------
def test_cli_screen_json_and_exit_codes(xvfb: str, monkeypatch: pytest.MonkeyPatch, isolated_dirs: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DISPLAY", xvfb)
    assert cli.main(["screen", "--symbol", "MES1!", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] and out["source"] == "screen" and (out["width"], out["height"]) == (640, 480)
    assert Path(out["path"]).is_file() and Path(out["path"]).name.startswith("MES1!_manual_")
    assert cli.main(["region", "--region", "10,10,120,80", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["width"], out["height"]) == (120, 80)
    assert cli.main(["region", "--region", "10,10,x,80", "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["field_or_reason"] == "region"
    assert cli.main(["webcam"]) == 2
    capsys.readouterr()
    monkeypatch.delenv("DISPLAY")
    assert cli.main(["screen", "--json"]) == 1
    assert "DISPLAY" in json.loads(capsys.readouterr().out)["message"]


@pytest.mark.slow
def test_cli_chart_renders_the_kernels_bars(isolated_dirs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["chart", "--symbol", "SPY", "--interval", "5m", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["source"] == "chart" and (out["width"], out["height"]) == (128, 64)
    px = pixels(Path(out["path"]).read_bytes())
    from models.render import THEMES

    assert (px == THEMES[0].background).all(axis=2).mean() > 0.5       # the canonical dark look
    assert ((px == THEMES[0].up).all(axis=2) | (px == THEMES[0].down).all(axis=2)).any()   # candles drawn
    assert cli.main(["chart", "--symbol", "ZZZ", "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["field_or_reason"] == "symbol"


async def test_scheduled_screen_capture_files_session_candles(xvfb: str, monkeypatch: pytest.MonkeyPatch,
                                                             store: Store, tmp_path: Path) -> None:
    from core.clock import ReplayClock
    from core.collection.scheduler import CaptureRequest, screen_capture

    monkeypatch.setenv("DISPLAY", xvfb)
    clock = ReplayClock(int(datetime(2026, 12, 9, 15, 45, tzinfo=UTC).timestamp()) * 10**9, paused=True)
    svc = CaptureService(store, tmp_path, clock=clock)
    svc.save_region(Region(10, 10, 50, 40))
    capture = screen_capture(svc)
    bar = clock.now_ns() - 15 * 60 * 10**9
    snap_id = await capture(CaptureRequest("MNQ1!", "session_candle", date(2026, 12, 9), clock.now_ns(), 15, bar))
    row = svc.repo.get(snap_id)
    assert row is not None and row.bar_time == datetime(2026, 12, 9, 15, 30, tzinfo=UTC)
    assert Path(row.image_path).name == "MNQ1!_session_20261209_15m_1030.png"
    assert (pixels(Path(row.image_path).read_bytes()) == ORANGE).all()
    assert pixels(Path(row.image_path).read_bytes()).shape == (40, 50, 3)
