"""Bus → Qt signals. Bus consumers run on the asyncio loop, which under qasync is the GUI
thread, so emitting here is direct; widgets connect to these signals and never see the bus."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from core.bus import Bus, Subscription
from core.events import BarClosed, BarUpdated, FeedHealthChanged, JobProgress, SeriesReset


class QtBridge(QObject):
    bar_updated = Signal(object)   # BarUpdated
    bar_closed = Signal(object)    # BarClosed
    feed_health = Signal(object)   # FeedHealthChanged
    series_reset = Signal(object)  # SeriesReset
    job_progress = Signal(object)  # JobProgress

    def __init__(self, bus: Bus) -> None:
        super().__init__()
        self._subs: list[Subscription] = [
            bus.subscribe(BarUpdated, self.bar_updated.emit, name="qt:bar_updated", maxsize=2000),
            bus.subscribe(BarClosed, self.bar_closed.emit, name="qt:bar_closed"),
            bus.subscribe(FeedHealthChanged, self.feed_health.emit, name="qt:feed_health"),
            bus.subscribe(SeriesReset, self.series_reset.emit, name="qt:series_reset"),
            bus.subscribe(JobProgress, self.job_progress.emit, name="qt:job_progress"),
        ]

    def close(self) -> None:
        for s in self._subs:
            s.cancel()
        self._subs.clear()
