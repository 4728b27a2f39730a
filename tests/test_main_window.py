"""The main window wired to a real kernel on the replay feed (offscreen, pytest-asyncio loop)."""

from __future__ import annotations

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
        assert window.session_box.count() == 3 and window.session_box.currentText() == "2014-06-09"
        assert window.banner_bar.isHidden()
        degraded = FeedStatus("polygon", FeedState.DEGRADED, "polygon: rate limited; serving Yahoo",
                              data_age_s=42.0)
        k.bus.publish(FeedHealthChanged("chains", degraded))
        await k.bus.drain()
        assert not window.banner_bar.isHidden()
        assert "chains" in window.banner.text() and "rate limited" in window.banner.text()
        assert "42 s old" in window.banner.text()
        assert window.badge.text().strip() == "REPLAY"            # bars are still fine
        k.bus.publish(FeedHealthChanged("chains", FeedStatus("polygon", FeedState.LIVE, "ok")))
        await k.bus.drain()
        assert window.banner_bar.isHidden()
        window._toggle_play()                                       # the Pause button
        assert k.replay_clock.paused and window.play_action.text() == "Play"
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
