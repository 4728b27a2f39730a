"""A small leading+trailing throttle on a QTimer (the idea of superqt's `qthrottled`).

The first trigger runs the callback at once; triggers inside the next `interval_ms` are coalesced
into one trailing call when the window ends. So a burst of hundreds of ticks costs two repaints,
and a steady stream is capped at 1000 / interval_ms calls per second.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6 import QtCore


class Throttle(QtCore.QObject):
    """Calls `callback` at most once per `interval_ms`, never dropping the last trigger."""

    def __init__(self, callback: Callable[[], None], interval_ms: int = 33,
                 parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        if interval_ms < 0:
            raise ValueError(f"interval_ms: must be >= 0, got {interval_ms}")
        self._callback = callback
        self._interval_ms = interval_ms
        self._pending = False
        self._last_call = -float("inf")
        self.calls = 0  # how many times the callback ran (tests and the bench read it)
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._on_timeout)

    @property
    def pending(self) -> bool:
        return self._pending

    def trigger(self) -> None:
        if self._timer.isActive():
            self._pending = True
            return
        elapsed_ms = (time.perf_counter() - self._last_call) * 1000.0
        if elapsed_ms >= self._interval_ms:
            self._run()
            self._timer.start(self._interval_ms)
        else:
            self._pending = True
            self._timer.start(max(0, round(self._interval_ms - elapsed_ms)))

    def flush(self) -> None:
        """Run a pending call now (e.g. before grabbing the widget)."""
        if self._pending:
            self._timer.stop()
            self._run()

    def cancel(self) -> None:
        self._pending = False
        self._timer.stop()

    def _on_timeout(self) -> None:
        if self._pending:
            self._run()
            self._timer.start(self._interval_ms)

    def _run(self) -> None:
        self._pending = False
        self._last_call = time.perf_counter()
        self.calls += 1
        self._callback()
