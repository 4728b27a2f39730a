"""Cold start: process start → main window shown, `python -m app` (replay feed, offscreen) against a
bare PySide6 window (QApplication + QMainWindow shown), alternating in the same run.

Each run is a fresh interpreter. The app quits once its window is shown and painted
(TRADECOACH_EXIT_AFTER_SHOW=1, app/gui.py) and prints one JSON line; the wall time is measured
here from just before the process is spawned until that line arrives (teardown excluded), the
same for the bare window. The app's line also carries the time of each start-up step (settings
and logging, the kernel's imports, the window's imports, the kernel started, the window built),
printed as medians. The app runs with a throw-away data and config folder, created by one
untimed warm-up run (a first run creates the database; later starts find it); the GPT server
starts after the window shows, so it is not part of the figure. Also checks that torch was not imported
by the time the window showed.

    .venv/bin/python bench/bench_startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

BARE = """
import json, sys
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication(sys.argv)
w = QMainWindow()
w.resize(1400, 900)
w.show()
app.processEvents()
print(json.dumps({"shown": True}), flush=True)
"""


def timed_start(cmd: list[str], env: dict[str, str]) -> tuple[float, dict[str, object]]:
    """Seconds from spawn to the first JSON line on stdout; the process is then left to exit."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("{"):
            elapsed = time.perf_counter() - t0
            info = json.loads(line)
            break
    else:
        proc.wait()
        raise RuntimeError(f"{cmd[-1]}: no JSON line (rc {proc.returncode}): {proc.stderr.read()[-2000:]}")
    _out, err = proc.communicate(timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[-1]}: rc {proc.returncode}: {err[-2000:]}")
    return elapsed, info


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    base = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)}
    with tempfile.TemporaryDirectory() as tmp:
        app_env = {**base, "TRADECOACH_EXIT_AFTER_SHOW": "1", "TRADECOACH_FEED": "replay",
                   "TRADECOACH_DATA_DIR": str(Path(tmp) / "data"),
                   "TRADECOACH_CONFIG_DIR": str(Path(tmp) / "config")}
        app_cmd = [sys.executable, "-m", "app"]
        bare_cmd = [sys.executable, "-c", BARE]
        timed_start(app_cmd, app_env)   # warm-up: creates the database, fills the OS file cache
        timed_start(bare_cmd, base)
        app_s, bare_s, infos = [], [], []
        for _ in range(args.runs):
            t, _ = timed_start(bare_cmd, base)
            bare_s.append(t)
            t, info = timed_start(app_cmd, app_env)
            app_s.append(t)
            infos.append(info)
    app_med, bare_med = statistics.median(app_s), statistics.median(bare_s)
    print(f"{args.runs} alternating runs, load {os.getloadavg()[0]:.2f}")
    print("  app  (s): " + " ".join(f"{t:.2f}" for t in app_s))
    print("  bare (s): " + " ".join(f"{t:.2f}" for t in bare_s))
    print(f"median app {app_med:.2f} s, bare window {bare_med:.2f} s, ratio {app_med / bare_med:.1f}x (goal <= 2x)")
    print(f"in-app age at first show (s): {[i.get('shown_after_s') for i in infos]}; "
          f"modules loaded: {infos[-1].get('modules')}")
    # Where the app's time goes: median seconds since process start at each step (app/gui.py).
    phases: dict[str, list[float]] = {}
    for i in infos:
        for name, at in {**i.get("phases", {}), "shown": i.get("shown_after_s")}.items():
            if at is not None:
                phases.setdefault(name, []).append(at)
    prev = 0.0
    for name, ats in phases.items():
        at = statistics.median(ats)
        print(f"  {name:16} at {at:5.2f} s  (+{at - prev:4.2f} s)")
        prev = at
    torch = [i.get("torch_imported") for i in infos]
    print(f"torch imported before the window showed: {any(torch)}")
    if any(torch):
        raise SystemExit("torch was imported at start-up")


if __name__ == "__main__":
    main()
