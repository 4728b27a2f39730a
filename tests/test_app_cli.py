"""The app as a user runs it: `python -m app --smoke`, and the import-bars command."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import REPO


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POLYGON", "TRADIER", "FINNHUB", "DB_URL"))}
    env.update(TRADECOACH_DATA_DIR=str(tmp / "data"), TRADECOACH_CONFIG_DIR=str(tmp / "config"), **extra)
    return env


def _run_smoke(tmp: Path, env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], Path]:
    shot = tmp / "smoke.png"
    proc = subprocess.run([sys.executable, "-m", "app", "--smoke", str(shot), "--speed", "120"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
    return proc, shot


def _check_screenshot(shot: Path) -> None:
    img = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    h, w, _ = img.shape
    assert (w, h) == (1280, 800)
    # Candles are drawn: both up (green-ish) and down (red-ish) pixels appear in the chart area.
    chart = img[60:600, 0:1180]
    r, g = chart[..., 0], chart[..., 1]
    assert ((g > r + 60) & (g > 100)).sum() > 200, "no up-candle pixels"
    assert ((r > g + 60) & (r > 150)).sum() > 200, "no down-candle pixels"


def test_smoke_offscreen(tmp_path: Path) -> None:
    env = _env(tmp_path, QT_QPA_PLATFORM="offscreen")
    proc, shot = _run_smoke(tmp_path, env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "smoke:" in proc.stdout and shot.exists()
    bars = int(proc.stdout.split("smoke: ")[1].split(" bars")[0])
    assert bars > 100
    _check_screenshot(shot)
    assert "replayed" in (tmp_path / "data" / "logs" / "tradecoach.log").read_text()


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb is installed by .ci/setup")
def test_smoke_in_a_real_x_window(tmp_path: Path) -> None:
    """The xcb platform plugin under Xvfb: catches missing system libraries offscreen would hide."""
    display = ":93"
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        env = _env(tmp_path, DISPLAY=display)
        env.pop("QT_QPA_PLATFORM", None)
        proc, shot = _run_smoke(tmp_path, env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        _check_screenshot(shot)
    finally:
        xvfb.terminate()
        xvfb.wait(10)


def test_no_display_without_smoke_gives_a_clear_message(tmp_path: Path) -> None:
    env = _env(tmp_path)
    for k in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        env.pop(k, None)
    proc = subprocess.run([sys.executable, "-m", "app"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode != 0
    assert "No display found" in proc.stderr and "--smoke" in proc.stderr


def test_import_bars_cli(tmp_path: Path, shared_data: Path) -> None:
    env = _env(tmp_path)
    src = shared_data / "intraday" / "SPY_5min_2018-2020_ib.csv"
    proc = subprocess.run([sys.executable, "-m", "app", "import-bars", str(src), "--symbol", "SPY", "--json"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    assert info["rows"] == 58020 and info["interval"] == "5m" and info["symbol"] == "SPY"
    assert (tmp_path / "data" / "tradecoach.db").exists()
    # A bad file: exit code 2 and a message naming the column; what was imported stays.
    bad = tmp_path / "bad.csv"
    bad.write_text(src.read_text().splitlines()[0].replace("close", "klose") + "\n"
                   + "\n".join(src.read_text().splitlines()[1:50]))
    proc = subprocess.run([sys.executable, "-m", "app", "import-bars", str(bad), "--symbol", "SPY"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "columns: missing close" in proc.stderr
    again = subprocess.run([sys.executable, "-c", (
        "from core.config import load_settings; from core.store import open_store, ImportedBarsRepo;"
        "s=open_store(load_settings().database_url); print(len(ImportedBarsRepo(s).load('SPY','5m')))")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert again.stdout.strip() == "58020", again.stderr
    # A re-import replaces the file's range and says so; progress goes to stderr.
    proc = subprocess.run([sys.executable, "-m", "app", "import-bars", str(src), "--symbol", "SPY"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "imported 58020 5m bars of SPY" in proc.stdout and "58020 replaced, 0 left" in proc.stdout
    assert "100%" in proc.stderr


def test_scan_cli_says_which_time_it_scanned_and_scans_another_with_at(tmp_path: Path) -> None:
    """Issue 17.14: the scan always ran at 10:15 ET without saying so; `--at HH:MM` picks the time."""
    env = _env(tmp_path)
    out = subprocess.run([sys.executable, "-m", "app", "scan", "--symbols", "SPY", "IBM", "--scan-interval", "1m",
                          "--at", "12:45", "--json"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert "T17:45:00" in report["scanned_at"]                   # 12:45 ET = 17:45 UTC in November
    assert {r["symbol"] for r in report["symbols"]} == {"SPY", "IBM"}
    assert all(r["no_candidate_reason"] or r["candidates"] for r in report["symbols"])
    text = subprocess.run([sys.executable, "-m", "app", "scan", "--symbols", "SPY", "--at", "25:99"], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=300)
    assert text.returncode == 2 and "at: expected HH:MM" in text.stderr and "Traceback" not in text.stderr


def test_refit_calibration_cli_imports_fits_and_the_scan_then_uses_it(tmp_path: Path, shared_data: Path) -> None:
    """Issue 10: "let the user refit on their own bars as a job (one command on the CLI)"."""
    env = _env(tmp_path)
    src = shared_data / "intraday" / "SPY_5min_2018-2020_ib.csv"
    bad = subprocess.run([sys.executable, "-m", "app", "refit-calibration", "SPY", "--scan-interval", "7q"],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "scan_interval" in bad.stderr and "Traceback" not in bad.stderr
    none = subprocess.run([sys.executable, "-m", "app", "refit-calibration", "QQQ"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert none.returncode == 2 and "no imported 5m bars of QQQ" in none.stderr and "Traceback" not in none.stderr
    proc = subprocess.run([sys.executable, "-m", "app", "refit-calibration", "SPY", "--bars", str(src), "--json"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    path = Path(res["path"])
    assert path.is_file() and path.is_relative_to(tmp_path / "data") and res["interval"] == "5m"
    assert res["plans"] > 1000 and 0.0 <= res["ece"] < 0.1 and res["bars"].startswith("imported")
    scan = subprocess.run([sys.executable, "-m", "app", "scan", "--symbols", "SPY", "--at", "12:45", "--json"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert scan.returncode == 0, scan.stderr
    cands = json.loads(scan.stdout)["candidates"]
    assert cands and {c["calibration"] for c in cands} == {res["source"]}
