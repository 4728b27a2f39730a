"""Cold start: process start → main window shown, `python -m app` (replay feed, offscreen) against a
bare PySide6 window (QApplication + QMainWindow shown), alternating in the same run.

Each run is a fresh interpreter. The app (TRADECOACH_EXIT_AFTER_SHOW=1, app/gui.py) prints one JSON
line when its main window is first painted — the window frame listing the start-up steps, before
settings and the kernel load — and a second when the chart shows the first bars, then quits. The
wall times are measured here from just before the process is spawned until each line arrives
(teardown excluded), the same for the bare window. The ratio against the bare window is the first
line's; the second line's time, and each start-up step's (settings and logging, the kernel's
imports, the window's imports, the kernel started, the window built, the chart shown), are
printed as medians. The app runs with a throw-away data and config folder, created by one
untimed warm-up run (a first run creates the database and the bytecode cache; later starts find
them); the GPT server
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


def timed_start(cmd: list[str], env: dict[str, str], lines: int) -> tuple[list[float], list[dict[str, object]]]:
    """Seconds from spawn to each of the first `lines` JSON lines on stdout; the process is then
    left to exit."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    times: list[float] = []
    infos: list[dict[str, object]] = []
    for line in proc.stdout:
        if line.startswith("{"):
            times.append(time.perf_counter() - t0)
            infos.append(json.loads(line))
            if len(infos) == lines:
                break
    else:
        proc.wait()
        raise RuntimeError(f"{cmd[-1]}: {len(infos)} of {lines} JSON lines (rc {proc.returncode}): "
                           f"{proc.stderr.read()[-2000:]}")
    _out, err = proc.communicate(timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[-1]}: rc {proc.returncode}: {err[-2000:]}")
    return times, infos


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    base = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)}
    # As on a user's machine, compiled bytecode is cached after the first run (the frozen build
    # ships it): a PYTHONDONTWRITEBYTECODE shell would compile every app module at each start.
    base.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory() as tmp:
        app_env = {**base, "TRADECOACH_EXIT_AFTER_SHOW": "1", "TRADECOACH_FEED": "replay",
                   "TRADECOACH_DATA_DIR": str(Path(tmp) / "data"),
                   "TRADECOACH_CONFIG_DIR": str(Path(tmp) / "config")}
        app_cmd = [sys.executable, "-m", "app"]
        bare_cmd = [sys.executable, "-c", BARE]
        timed_start(app_cmd, app_env, 2)   # warm-up: creates the database, fills the OS file cache
        timed_start(bare_cmd, base, 1)
        bare_s: list[float] = []
        frame_s: list[float] = []
        chart_s: list[float] = []
        frames: list[dict[str, object]] = []
        infos: list[dict[str, object]] = []
        for _ in range(args.runs):
            t, _ = timed_start(bare_cmd, base, 1)
            bare_s.append(t[0])
            t, lines = timed_start(app_cmd, app_env, 2)
            frame_s.append(t[0])
            chart_s.append(t[1])
            frames.append(lines[0])
            infos.append(lines[1])
    bare_med, frame_med, chart_med = (statistics.median(x) for x in (bare_s, frame_s, chart_s))
    print(f"{args.runs} alternating runs, load {os.getloadavg()[0]:.2f}")
    print("  bare window      (s): " + " ".join(f"{t:.2f}" for t in bare_s))
    print("  app window shown (s): " + " ".join(f"{t:.2f}" for t in frame_s))
    print("  app chart w/ bars(s): " + " ".join(f"{t:.2f}" for t in chart_s))
    print(f"median: bare window {bare_med:.2f} s; the app's main window shown {frame_med:.2f} s, "
          f"ratio {frame_med / bare_med:.1f}x (goal <= 2x); its chart showing bars {chart_med:.2f} s "
          f"({chart_med / bare_med:.0f}x)")
    print(f"at the window's first paint: {frames[-1].get('modules')} modules, kernel imported "
          f"{any(f.get('kernel_imported') for f in frames)}, chart imported "
          f"{any(f.get('chart_imported') for f in frames)}")
    # Where the app's time goes: median seconds since process start at each step (app/gui.py).
    phases: dict[str, list[float]] = {}
    for i in infos:
        for name, at in {**i.get("phases", {}), "chart_shown": i.get("chart_shown_s")}.items():  # type: ignore[dict-item]
            if at is not None:
                phases.setdefault(name, []).append(at)
    prev = 0.0
    for name, ats in phases.items():
        at = statistics.median(ats)
        print(f"  {name:16} at {at:5.2f} s  (+{at - prev:4.2f} s)")
        prev = at
    print(f"modules loaded when the chart showed: {infos[-1].get('modules')}")
    torch = [i.get("torch_imported") for i in infos]
    print(f"torch imported before the chart showed: {any(torch)}")
    if any(torch):
        raise SystemExit("torch was imported at start-up")


if __name__ == "__main__":
    main()
