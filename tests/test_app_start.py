"""Starting the window (`python -m app`, replay feed, offscreen): the main window's frame is painted
before the kernel or the chart is imported, and torch is not imported even once the chart shows
bars (the predictor loads it in its worker process when asked). tests/test_layout.py checks the
import path only; this runs the real start-up (TRADECOACH_EXIT_AFTER_SHOW, app/gui.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_started_window_has_not_imported_torch(tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO),
           "TRADECOACH_EXIT_AFTER_SHOW": "1", "TRADECOACH_FEED": "replay",
           "TRADECOACH_DATA_DIR": str(tmp_path / "data"), "TRADECOACH_CONFIG_DIR": str(tmp_path / "config")}
    out = subprocess.run([sys.executable, "-m", "app"], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    shown = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert len(shown) == 2, out.stdout[-2000:]
    frame, ready = shown
    # The frame is painted first, on Qt alone: no kernel, no chart library yet.
    assert frame["kernel_imported"] is False and frame["chart_imported"] is False
    assert frame["modules"] < ready["modules"]
    # Then the whole window: the kernel started, the window built, the chart drew its first bars.
    assert ready["modules"] > 500
    for step in ("settings_loaded", "kernel_imported", "kernel_started", "window_built", "window_shown"):
        assert ready["phases"][step] is not None, step
    assert ready["phases"]["frame_shown"] <= ready["phases"]["kernel_started"] <= ready["chart_shown_s"]
    assert ready["torch_imported"] is False


def test_a_start_that_fails_says_why_in_the_window(tmp_path: Path) -> None:
    """The database out of reach: the frame names the failed step, db_url (without its password)
    and the reason; the process exits 1 with that one line on stderr, no traceback."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO),
           "TRADECOACH_EXIT_AFTER_SHOW": "1", "TRADECOACH_FEED": "replay",
           "TRADECOACH_DATA_DIR": str(tmp_path / "data"), "TRADECOACH_CONFIG_DIR": str(tmp_path / "config"),
           "DB_URL": "postgresql+psycopg://trader:hunter2@127.0.0.1:1/coach"}   # nothing listens on port 1
    out = subprocess.run([sys.executable, "-m", "app"], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 1, out.stderr[-3000:]
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert lines[0]["kernel_imported"] is False                 # the frame came first
    page = lines[-1]["start_failed"]
    assert "✗ Starting the kernel" in page and "✓ Loading settings" in page
    assert "db_url: cannot open the database postgresql+psycopg://trader:***@127.0.0.1:1/coach" in page
    assert "refused" in page and "tradecoach.log" in page
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "refused" in errors[0]
    assert errors[0].startswith("error: db_url: cannot open the database")
    log = (tmp_path / "data" / "logs" / "tradecoach.log").read_text()
    assert "start-up failed: db_url: cannot open the database" in log
    assert "Traceback" not in out.stderr and "hunter2" not in out.stderr + out.stdout
