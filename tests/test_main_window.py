"""The main window wired to a real kernel on the replay feed (offscreen, pytest-asyncio loop)."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

from core.config import load_settings
from core.events import FeedHealthChanged, FeedState, FeedStatus
from core.workstation import Workstation


async def test_status_badge_and_degraded_banner(isolated_dirs: Path, qtbot) -> None:  # type: ignore[no-untyped-def]
    from app.main_window import MainWindow

    k = Workstation(load_settings(), today=date(2026, 11, 22))
    await k.start()
    window = MainWindow(k)
    qtbot.addWidget(window)
    try:
        await window.open_initial("AAPL", "5m")
        assert window.chart.bar_count() > 0 and window.controller.symbol == "AAPL"
        assert window.badge.text().strip() == "REPLAY" and "replayed" in window.status_label.text()
        assert window.session_box.count() == 3 and window.session_box.currentData() == "2014-06-09"
        assert window.banner_bar.isHidden()
        degraded = FeedStatus("polygon", FeedState.DEGRADED, "polygon: rate limited; serving Yahoo",
                              data_age_s=42.0)
        k.bus.publish(FeedHealthChanged("chains", degraded))
        await k.bus.drain()
        qtbot.waitUntil(lambda: not window.banner_bar.isHidden(), timeout=3000)  # queued to the GUI thread
        assert "chains" in window.banner.text() and "rate limited" in window.banner.text()
        assert "42 s old" in window.banner.text()
        assert window.badge.text().strip() == "REPLAY"            # bars are still fine
        k.bus.publish(FeedHealthChanged("chains", FeedStatus("polygon", FeedState.LIVE, "ok")))
        await k.bus.drain()
        qtbot.waitUntil(window.banner_bar.isHidden, timeout=3000)
        # Issue 17.12: the banner is not offered in the toolbar context menu, so it can't open empty.
        assert not window.banner_bar.toggleViewAction().isVisible()
        # Issue 17.9: Step is only enabled while paused (no modal warning while playing).
        assert not window.step_action.isEnabled()
        window._toggle_play()                                       # the Pause button
        for _ in range(50):
            if k.replay_clock.paused:
                break
            await asyncio.sleep(0.02)
        assert k.replay_clock.paused and window.play_action.text() == "Play" and window.step_action.isEnabled()
    finally:
        window.close()
        await k.stop()


async def test_the_theme_setting_reaches_the_chart(isolated_dirs: Path, qtbot) -> None:  # type: ignore[no-untyped-def]
    from app.main_window import MainWindow
    from widgets.theme import LIGHT

    k = Workstation(load_settings(theme="light"), today=date(2026, 11, 22))
    await k.start()
    window = MainWindow(k)
    qtbot.addWidget(window)
    try:
        assert window.chart.theme is LIGHT
    finally:
        window.close()
        await k.stop()


async def test_the_window_remembers_symbol_interval_and_layout(isolated_dirs: Path, qtbot) -> None:  # type: ignore[no-untyped-def]
    """Issue 17.13: symbol, interval, geometry and closed docks come back on restart; a View menu
    brings a closed dock back."""
    from app.main_window import MainWindow

    k = Workstation(load_settings(), today=date(2026, 11, 22))
    await k.start()
    try:
        first = MainWindow(k)
        qtbot.addWidget(first)
        await first.open_initial("IBM", "15m")
        first.predictor_dock.close()
        first.resize(700, 520)  # the offscreen screen is 800×600
        first.close()                                   # saves the layout
        second = MainWindow(k)
        qtbot.addWidget(second)
        second.restore_layout()
        await second.open_initial()                     # no symbol given: the remembered one
        assert second.controller.symbol == "IBM" and second.controller.interval.name == "15m"
        assert second.size().width() == 700 and second.predictor_dock.isHidden() and not second.chart_dock.isHidden()
        view = [a.text() for a in second.menuBar().actions()]
        assert "&View" in view
        menu = second.menuBar().actions()[view.index("&View")].menu()
        assert any(a.text() == "Predictor" for a in menu.actions())
        second.close()
    finally:
        await k.stop()


async def test_the_frame_shows_start_up_steps_then_becomes_the_workstation(isolated_dirs: Path, qtbot) -> None:  # type: ignore[no-untyped-def]
    """The frame a double-click shows at once (app/gui.py): the last theme, the start-up steps as
    they happen; closing it before the kernel is up leaves nothing to tear down; `attach` then
    builds the window on the kernel."""
    from PySide6.QtWidgets import QLabel

    from app.main_window import MainWindow

    early = MainWindow()
    qtbot.addWidget(early)
    early.close()                                   # closed during start-up: no kernel, no panels
    assert early.closed.is_set() and not early.attached

    window = MainWindow()
    qtbot.addWidget(window)
    assert window.remembered_theme() == "dark"      # nothing remembered yet
    window.start_step("Loading settings")
    window.start_step("Starting the kernel")
    page = window.findChild(QLabel, "start_page")
    assert page is not None and "✓ Loading settings" in page.text() and "… Starting the kernel" in page.text()
    k = Workstation(load_settings(theme="light"), today=date(2026, 11, 22))
    await k.start()
    try:
        window.attach(k)
        assert window.attached and window.centralWidget().objectName() != "start_page"   # replaced
        assert window.remembered_theme() == "light"  # the next start's frame paints in it
        await window.open_initial("SPY", "5m")
        assert window.chart.bar_count() > 0 and window.symbol_box.currentText() == "SPY"
    finally:
        window.close()
        await k.stop()
