"""Starting the window (`python -m app`, replay feed, offscreen) does not import torch: the predictor
loads it in its worker process when asked. tests/test_layout.py checks the import path only; this
runs the real start-up up to the shown window (TRADECOACH_EXIT_AFTER_SHOW, app/gui.py)."""

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
    assert len(shown) == 1, out.stdout[-2000:]
    assert shown[0]["modules"] > 500            # the window really started (Qt, the kernel, the chart)
    assert shown[0]["torch_imported"] is False
