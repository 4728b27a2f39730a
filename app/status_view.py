"""The window's feed state: the status bar (state badge, feed source and detail, state per
capability, the API server, the exchange clock) and the banner shown above the chart while any data
capability is degraded. Renders what the bridge reports; no kernel calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QLabel, QMainWindow, QToolBar

if TYPE_CHECKING:
    from core.events import FeedHealthChanged, FeedStatus

STATE_COLORS = {  # by FeedState value
    "live": "#2e7d32", "replay": "#1565c0", "paused": "#6d4c41",
    "degraded": "#ef6c00", "finished": "#546e7a", "error": "#c62828",
}


class FeedStatusView:
    def __init__(self, window: QMainWindow, feed_text: Callable[[dict[str, FeedStatus]], str],
                 on_paused: Callable[[bool], None]) -> None:
        self._feed_text = feed_text    # the panels' one-line state per capability
        self._on_paused = on_paused    # a replay paused or resumed (the toolbar's Play/Pause)
        self.health: dict[str, FeedStatus] = {}
        self._degraded: dict[str, FeedStatus] = {}
        # A banner above the chart while any data capability is degraded: the trader must not
        # mistake late or fallback data for live data. Shown and hidden by the app only (it is not
        # listed in the toolbar context menu, so it can't be opened empty).
        self.banner = QLabel()
        self.banner.setObjectName("degraded_banner")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("background:#ef6c00; color:white; font-weight:bold; padding:4px;")
        banner_bar = QToolBar("Data health", window)
        banner_bar.setObjectName("banner_toolbar")
        banner_bar.setMovable(False)
        banner_bar.addWidget(self.banner)
        banner_bar.toggleViewAction().setVisible(False)
        window.addToolBarBreak()
        window.addToolBar(banner_bar)
        banner_bar.hide()
        self.banner_bar = banner_bar
        self.badge = QLabel()
        self.badge.setObjectName("feed_badge")
        self.status_label = QLabel()
        self.status_label.setObjectName("feed_status")
        self.status_label.setWordWrap(False)
        self.clock_label = QLabel()
        self.clock_label.setObjectName("replay_clock")
        self.clock_label.setToolTip("Replay clock (exchange time): every replayed symbol shares it")
        self.caps_label = QLabel()
        self.caps_label.setObjectName("feed_capabilities")
        self.caps_label.setToolTip("Feed state per capability (with the reason when degraded)")
        self.api_label = QLabel(" API: off ")
        self.api_label.setObjectName("api_status")
        bar = window.statusBar()
        bar.addWidget(self.badge)
        bar.addWidget(self.status_label, 1)
        bar.addPermanentWidget(self.caps_label)
        bar.addPermanentWidget(self.api_label)
        bar.addPermanentWidget(self.clock_label)

    def set_health(self, health: dict[str, FeedStatus]) -> None:
        self.health = dict(health)
        self.show_caps()

    def show_caps(self) -> None:
        text = self._feed_text(self.health)
        self.caps_label.setText(f" {text} ")
        self.caps_label.setToolTip(text)

    def on_feed_health(self, event: FeedHealthChanged) -> None:
        from core.events import FeedState

        self.health[event.capability] = event.status
        self.show_caps()
        if event.capability in ("bars", "live"):
            self.show_status(event.status)
        if event.status.state in (FeedState.DEGRADED, FeedState.ERROR):
            self._degraded[event.capability] = event.status
        else:
            self._degraded.pop(event.capability, None)
        self._show_banner()

    def _show_banner(self) -> None:
        parts = []
        for cap, st in sorted(self._degraded.items()):
            age = f" (data {st.data_age_s:.0f} s old)" if st.data_age_s is not None else ""
            parts.append(f"{cap}: {st.state.value} — {st.detail or 'no reason given'}{age}")
        self.banner.setText("Degraded data · " + " · ".join(parts) if parts else "")
        self.banner_bar.setVisible(bool(parts))

    def show_status(self, st: FeedStatus) -> None:
        from core.events import FeedState

        color = STATE_COLORS.get(st.state.value, "#455a64")
        self.badge.setText(f" {st.state.value.upper()} ")
        self.badge.setStyleSheet(f"background:{color}; color:white; font-weight:bold; border-radius:3px;")
        text = f"Feed: {st.source} · {st.detail}"
        self.status_label.setText(text)
        self.status_label.setToolTip(text)  # the full text when a narrow window cuts it
        if st.state in (FeedState.PAUSED, FeedState.REPLAY, FeedState.FINISHED):
            self._on_paused(st.state == FeedState.PAUSED)
