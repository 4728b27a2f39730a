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
