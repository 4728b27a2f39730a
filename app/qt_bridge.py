"""Bus → Qt signals across threads. The kernel's bus delivers on the kernel thread; this bridge
buffers those events under a lock and hands them to the GUI thread through a queued signal, where
they are re-emitted as the public signals below (vn.py's "signal emit as handler", made
thread-safe). Intra-bar updates are coalesced: between two GUI frames only the newest state of
each (symbol, interval, bar) is delivered, so a 1000× replay cannot flood the GUI thread. Every
other event is delivered once, in publish order. A delivery runs for at most SLICE_MS: what is
left waits for the next turn of the Qt event loop (timers, input and paint come first), so a
burst of events — a rescan's setup changes, a bar close of every watched symbol — is spread over
several short slices instead of one long stall."""

from __future__ import annotations

import logging
import threading
import time

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from core.bus import Bus, Subscription
from core.events import BarClosed, BarUpdated, Event, FeedHealthChanged, JobProgress, SeriesReset
from core.prediction import PredictionMade
from core.scanner.events import FollowerEvent, PlanIssued, SetupChanged
from core.services.drawings import AlertTriggered, DrawingChanged
from core.services.notes import NoteChanged

log = logging.getLogger(__name__)

FRAME_MS = 16  # at most ~60 deliveries a second
SLICE_MS = 8   # one delivery's time budget on the GUI thread
BRIDGED: tuple[type[Event], ...] = (BarUpdated, BarClosed, FeedHealthChanged, SeriesReset, JobProgress,
                                    PlanIssued, FollowerEvent, PredictionMade, NoteChanged, AlertTriggered,
                                    DrawingChanged, SetupChanged)


class QtBridge(QObject):
    bar_updated = Signal(object)     # BarUpdated
    bar_closed = Signal(object)      # BarClosed
    feed_health = Signal(object)     # FeedHealthChanged
    series_reset = Signal(object)    # SeriesReset
    job_progress = Signal(object)    # JobProgress
    plan_issued = Signal(object)     # PlanIssued
    follower_event = Signal(object)  # FollowerEvent
    prediction_made = Signal(object)  # PredictionMade
    note_changed = Signal(object)    # NoteChanged
    alert_triggered = Signal(object)  # AlertTriggered
    drawings_changed = Signal(object)  # DrawingChanged
    setup_changed = Signal(object)   # SetupChanged (live rescans)
    _wake = Signal()

    def __init__(self, bus: Bus) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._pending: list[Event] = []
        self._slot_of: dict[tuple[str, str, int], int] = {}  # BarUpdated key → index in _pending
        self._scheduled = False
        self.delivered = 0
        self.coalesced = 0
        self.slices = 0  # deliveries cut short by SLICE_MS
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(FRAME_MS)
        self._timer.timeout.connect(self._flush)
        self._wake.connect(self._timer.start, Qt.ConnectionType.QueuedConnection)
        self._routes = {
            BarUpdated: self.bar_updated, BarClosed: self.bar_closed, FeedHealthChanged: self.feed_health,
            SeriesReset: self.series_reset, JobProgress: self.job_progress, PlanIssued: self.plan_issued,
            FollowerEvent: self.follower_event, PredictionMade: self.prediction_made, NoteChanged: self.note_changed,
            AlertTriggered: self.alert_triggered, DrawingChanged: self.drawings_changed,
            SetupChanged: self.setup_changed,
        }
        self._sub: Subscription | None = bus.subscribe(BRIDGED, self._on_event, name="qt-bridge", maxsize=20_000)

    # -- kernel thread ---------------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        with self._lock:
            if isinstance(event, BarUpdated):
                key = (event.symbol, event.interval.name, event.bar.ts)
                i = self._slot_of.get(key)
                if i is not None:
                    self._pending[i] = event
                    self.coalesced += 1
                else:
                    self._slot_of[key] = len(self._pending)
                    self._pending.append(event)
            else:
                if isinstance(event, BarClosed):
                    # Later updates of this bar (none expected) must not overwrite the close.
                    self._slot_of.pop((event.symbol, event.interval.name, event.bar.ts), None)
                self._pending.append(event)
            wake = not self._scheduled
            self._scheduled = True
        if wake:
            self._wake.emit()

    # -- GUI thread -------------------------------------------------------------------------------
    def _flush(self) -> None:
        with self._lock:
            items, self._pending = self._pending, []
            self._slot_of.clear()
            self._scheduled = False
        deadline = time.perf_counter() + SLICE_MS / 1000.0
        for k, event in enumerate(items):
            if k and time.perf_counter() > deadline:
                self._defer(items[k:])
                return
            signal = self._routes.get(type(event))
            if signal is None:
                continue
            try:
                signal.emit(event)
                self.delivered += 1
            except Exception:
                log.exception("qt bridge: a slot failed on %s", type(event).__name__)

    def _defer(self, rest: list[Event]) -> None:
        """Put undelivered events back in front of what arrived meanwhile, for the next turn."""
        self.slices += 1
        with self._lock:
            self._pending = rest + self._pending
            # Re-key the intra-bar coalescing on the new positions; a BarClosed still cuts a bar's
            # updates off from the ones before it.
            self._slot_of.clear()
            for i, event in enumerate(self._pending):
                if isinstance(event, BarUpdated):
                    self._slot_of[(event.symbol, event.interval.name, event.bar.ts)] = i
                elif isinstance(event, BarClosed):
                    self._slot_of.pop((event.symbol, event.interval.name, event.bar.ts), None)
            self._scheduled = True
        QTimer.singleShot(0, self, self._flush)  # soon, but after the timers and paint now due

    def close(self) -> None:
        if self._sub is not None:
            self._sub.cancel()
            self._sub = None
        self._timer.stop()
