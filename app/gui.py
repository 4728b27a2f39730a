"""Runs the window: the kernel on its own loop thread (core.runtime), the GUI's own coroutines on a
qasync loop on the GUI thread. The two meet only through `kernel.runtime` (calls) and the Qt
bridge (events), so no kernel work — feeds, scans, API requests — ever runs on the GUI thread."""

from __future__ import annotations

import gc
import importlib
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.main_window import MainWindow
    from core.workstation import Workstation

log = logging.getLogger(__name__)

SMOKE_TIMEOUT_S = 60.0
# TRADECOACH_EXIT_AFTER_SHOW=1 (bench/bench_startup.py, tests/test_app_start.py): print one JSON line
# when the window's frame is shown {"frame_shown_s", "modules", "kernel_imported"}, another when the
# chart shows the first bars {"shown_after_s", "chart_shown_s", "phases", "torch_imported", "modules"},
# then quit. Times are seconds since process start; "phases" holds each start-up step.
EXIT_AFTER_SHOW = "TRADECOACH_EXIT_AFTER_SHOW"
_phases: dict[str, float | None] = {}
# What the window imports to build its chart and panels: imported on the GUI thread while the kernel
# starts on its own thread (Qt widget modules stay on the GUI thread).
WINDOW_MODULES = ("app.chart_controller", "app.panels.compose", "app.predictor_controller", "widgets.chart")


def _ensure_platform(smoke: bool) -> None:
    has_display = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if not has_display and "QT_QPA_PLATFORM" not in os.environ:
        if not smoke:
            raise SystemExit("No display found (DISPLAY/WAYLAND_DISPLAY unset). Run under a desktop session, "
                             "or use `python -m app --smoke out.png` to render the window offscreen.")
        os.environ["QT_QPA_PLATFORM"] = "offscreen"


def run_gui(*, smoke_path: Path | None, symbol: str | None, interval: str | None, speed: float | None) -> int:
    """The window's frame first (Qt only: shown within a few tenths of a second of a double-click),
    then settings, the kernel and the window's contents while the frame lists the start-up steps."""
    _ensure_platform(smoke_path is not None)
    os.environ.setdefault("QT_API", "pyside6")  # qasync picks the first binding that imports
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow
    from core.paths import resources_dir

    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("Trading Coach Workstation")
    app.setWindowIcon(QIcon(str(resources_dir() / "icons" / "tradecoach.png")))  # taskbar, alt-tab, title bar
    app.setQuitOnLastWindowClosed(False)
    window = MainWindow()
    window.apply_theme(window.remembered_theme())
    if smoke_path is None:
        window.restore_geometry()
    window.start_step("Loading settings")
    window.show()
    _report_frame()
    import qasync

    result: dict[str, int] = {"rc": 0}
    kernels: list[Workstation] = []
    try:
        qasync.run(_main(window, kernels, smoke_path, symbol, interval, speed, result))
    finally:
        for kernel in kernels:
            kernel.runtime.stop()
    return result["rc"]


def _load_settings(speed: float | None):  # type: ignore[no-untyped-def]
    from app.logs import setup_logging
    from core.config import load_settings
    from core.diagnostics import secret_values

    settings = load_settings(**({"replay_speed": speed} if speed else {}))
    setup_logging(settings.data_dir, secrets=secret_values(settings, keyring=False))
    log.info("settings: %s", settings.redacted())
    return settings


def _make_kernel(settings) -> Workstation:  # type: ignore[no-untyped-def]
    from core.workstation import Workstation

    kernel = Workstation(settings)
    kernel.runtime.start()  # the engine thread
    # The first chart computes its lines in a CPU worker process: start one now (it loads the
    # compiled indicators, the chart's modules and the symbol's calendar) while the kernel and the
    # window are still starting, rather than when the chart asks.
    from functools import partial

    from app.chart_tools import prepare_chart_worker

    kernel.runtime.prestart_processes(partial(prepare_chart_worker, settings.default_symbol))
    return kernel


async def _main(window: MainWindow, kernels: list[Workstation], smoke_path: Path | None, symbol: str | None,
                interval: str | None, speed: float | None, result: dict[str, int]) -> None:
    try:
        await _start_and_run(window, kernels, smoke_path, symbol, interval, speed, result)
    except Exception as exc:
        if window.attached or window.closed.is_set():
            raise
        # Start-up stopped before the window was built (settings refused, the database out of
        # reach): the frame says why and stays until the trader closes it; the exit code and the
        # one-line message on stderr follow as for any command (app/cli/common.run_guarded).
        from core.errors import TradeCoachError
        from core.paths import log_file

        text = str(exc) if isinstance(exc, TradeCoachError) else f"{type(exc).__name__}: {exc}"
        log.error("start-up failed: %s", text)
        data_dir = kernels[0].settings.data_dir if kernels else None
        window.start_failed(text, log_file(data_dir) if data_dir is not None else None)
        if os.environ.get(EXIT_AFTER_SHOW) == "1":
            print(json.dumps({"start_failed": window.start_page_text()}), flush=True)
        elif smoke_path is None:
            await window.closed.wait()
        raise
    finally:
        if not window.attached and window.isVisible():
            window.close()   # (a built window is closed in order by _start_and_run)


async def _start_and_run(window: MainWindow, kernels: list[Workstation], smoke_path: Path | None,
                         symbol: str | None, interval: str | None, speed: float | None,
                         result: dict[str, int]) -> None:
    import asyncio  # here, not at module level: the frame paints before asyncio is imported

    # Settings (pydantic, the keyring backend) and the kernel's imports run on a worker thread: the
    # frame keeps painting and answers a move or a close meanwhile.
    settings = await asyncio.to_thread(_load_settings, speed)
    _mark("settings_loaded")
    window.apply_theme(settings.theme)
    window.start_step("Starting the kernel (store, feeds, replay)")
    kernel = await asyncio.to_thread(_make_kernel, settings)
    kernels.append(kernel)
    _mark("kernel_imported")
    # The kernel thread has the GIL only every 1 ms while the GUI thread wants it, so a busy kernel
    # delays a paint less (bench/bench_gui_latency.py: longest stall under kernel load 753 → 398 ms
    # with in-process CPU work; CPU work now runs in worker processes as well).
    sys.setswitchinterval(0.001)
    starting = asyncio.ensure_future(kernel.runtime.wrap(kernel.start()))
    for name in WINDOW_MODULES:  # while the kernel starts
        importlib.import_module(name)
        await asyncio.sleep(0)   # let the frame paint between modules
    _mark("window_imported")
    dog = None
    if os.environ.get("TRADECOACH_STALL_WATCHDOG") == "1":
        from app.stall_watchdog import StallWatchdog

        dog = StallWatchdog(threshold_ms=50.0)  # logs every GUI-thread stall > 50 ms with its stack
        dog.start()
    try:
        await starting
        _mark("kernel_started")
        if window.closed.is_set():
            return  # closed during start-up
        window.start_step("Building the window")
        window.attach(kernel)
        _mark("window_built")
        if smoke_path is None:
            window.restore_state()
        if os.environ.get(EXIT_AFTER_SHOW) == "1":
            window.repaint()  # the built window's first paint (no nested event loop inside a coroutine)
            _mark("window_shown")
            await window.open_initial(symbol, interval)
            _report_shown(window)
            return
        await _start_api(window)
        await window.open_initial(symbol, interval)
        # What start-up built (modules, window, bars) lives for the whole session: out of the
        # collector's sight, a full collection no longer walks it — those walks were 110–220 ms
        # stalls of whichever thread allocated at the wrong moment, the GUI thread included.
        gc.freeze()
        if smoke_path is not None:
            result["rc"] = await _smoke(window, smoke_path)
        else:
            await window.closed.wait()
    finally:
        if window.attached:
            try:
                await window.panels.gpt_ctl.stop()  # in order: the GPT server, the window, then the kernel
            except Exception:
                log.exception("stopping the GPT server")
            window.close()
        await asyncio.wait([starting])   # a kernel still starting is let finish, then stopped
        if not starting.cancelled() and starting.exception() is None:
            await kernel.runtime.wrap(kernel.stop())
        if dog is not None:
            dog.stop()


def _process_age_s() -> float | None:
    """Seconds since this process started (Linux /proc; None elsewhere)."""
    try:
        start_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return uptime - start_ticks / os.sysconf("SC_CLK_TCK")


def _mark(phase: str) -> None:
    if os.environ.get(EXIT_AFTER_SHOW) == "1":
        age = _process_age_s()
        _phases[phase] = None if age is None else round(age, 3)


def _report_frame() -> None:
    """The frame is up: paint it; with TRADECOACH_EXIT_AFTER_SHOW, say when and what was imported."""
    from PySide6.QtWidgets import QApplication

    QApplication.processEvents()   # the frame's first paint
    _mark("frame_shown")
    if os.environ.get(EXIT_AFTER_SHOW) == "1":
        print(json.dumps({"frame_shown_s": _phases.get("frame_shown"), "modules": len(sys.modules),
                          "kernel_imported": "core.workstation" in sys.modules,
                          "chart_imported": "pyqtgraph" in sys.modules}), flush=True)


def _report_shown(window: MainWindow) -> None:
    window.repaint()   # the chart's first paint with bars
    age = _process_age_s()
    print(json.dumps({"shown_after_s": _phases.get("window_shown"), "chart_shown_s": age and round(age, 3),
                      "phases": _phases, "torch_imported": "torch" in sys.modules,
                      "modules": len(sys.modules)}), flush=True)


async def _start_api(window) -> None:  # type: ignore[no-untyped-def]
    """The window's one GPT server, on the kernel loop, when the settings say so (default on,
    127.0.0.1:8000). A port in use is shown in the status bar and the GPT pane; the app goes on."""
    if not window.settings_ctl.api_autostart():
        return
    error = await window.panels.gpt_ctl.autostart()
    if error:
        window.statusBar().showMessage(f"GPT server not started: {error}", 30_000)
    window._show_api()


async def _smoke(window, path: Path) -> int:  # type: ignore[no-untyped-def]
    """Wait for bars and live updates on the chart, then save a screenshot of the window."""
    import asyncio

    deadline = time.monotonic() + SMOKE_TIMEOUT_S
    ctl = window.controller
    while time.monotonic() < deadline:
        if window.chart.bar_count() > 0 and ctl.live_updates >= 3:
            break
        await asyncio.sleep(0.1)
    else:
        log.error("smoke: chart has %d bars and %d live updates after %.0f s", window.chart.bar_count(),
                  ctl.live_updates, SMOKE_TIMEOUT_S)
        return 1
    panels = window.panels
    while time.monotonic() < deadline and panels.scanner.table.rowCount() == 0:
        await asyncio.sleep(0.1)  # the first live scan fills the scanner and the plan panel
    await asyncio.sleep(0.5)  # let throttled paints and line recomputation land
    image = window.grab()
    path.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(path)):
        log.error("smoke: could not write %s", path)
        return 1
    if os.environ.get("TRADECOACH_SMOKE_PANELS") == "1":
        from app.guide_shots import take_guide_shots

        await take_guide_shots(window, path)
    report = smoke_report(window)
    json_path = path.with_suffix(".json")
    json_path.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    print(f"smoke: {window.chart.bar_count()} bars, {ctl.live_updates} live updates, screenshot {path}, "
          f"report {json_path}")
    return 0


def smoke_report(window) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """What the window shows: each visible dock with its row/item count, and the chart's contents
    (the chart's own `describe()` when it has one)."""
    counts = window.panels.counts()
    docks = [{"title": d.windowTitle(), "visible": d.isVisible(), "items": counts.get(key)}
             for key, d in (("chart", window.chart_dock), ("predictor", window.predictor_dock),
                            *window.panels.docks.items()) if not d.isHidden()]
    chart = window.chart
    describe = getattr(chart, "describe", None)
    if callable(describe):
        chart_info = describe()
    else:
        chart_info = {"symbol": chart.symbol, "bars": chart.bar_count(), "lines": chart.line_names(),
                      "plan_items": len(chart.plan_items()), "levels": len(chart.level_items()),
                      "zones": len(chart.zones()), "source": "bar_count/line_names (no describe())"}
    return {"docks": docks, "chart": chart_info,
            "status": {"feed": window.status_label.text(), "capabilities": window.caps_label.text().strip(),
                       "clock": window.clock_label.text().strip(), "api": window.api_label.text().strip()},
            "first_run_hint": window.hint_bar.isVisible()}
