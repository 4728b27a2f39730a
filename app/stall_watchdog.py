"""Detects GUI-thread stalls: a Qt timer stamps a heartbeat every 10 ms; a daemon thread checks
the stamp and, when the GUI thread has not come back for longer than the threshold, records the
GUI thread's Python stack once per stall. Used by the latency benchmark and, with
TRADECOACH_STALL_WATCHDOG=1, in the app (stalls go to the log)."""

from __future__ import annotations

import logging
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QTimer

log = logging.getLogger(__name__)


@dataclass
class Stall:
    duration_ms: float
    stack: str


@dataclass
class StallReport:
    stalls: list[Stall] = field(default_factory=list)

    def worst(self, n: int = 5) -> list[Stall]:
        return sorted(self.stalls, key=lambda s: -s.duration_ms)[:n]


class StallWatchdog(QObject):
    def __init__(self, threshold_ms: float = 50.0, *, log_stalls: bool = True) -> None:
        super().__init__()
        self.threshold_s = threshold_ms / 1000.0
        self.report = StallReport()
        self._log = log_stalls
        self._gui_thread = threading.get_ident()
        self._beat = time.perf_counter()
        self._timer = QTimer(self)
        self._timer.setInterval(10)
        self._timer.timeout.connect(self._stamp)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="stall-watchdog", daemon=True)
        self._in_stall: Stall | None = None
        self._stall_start = 0.0

    def start(self) -> None:
        self._beat = time.perf_counter()
        self._timer.start()
        self._thread.start()

    def stop(self) -> None:
        self._timer.stop()
        self._stop.set()
        self._thread.join(timeout=1.0)

    def _stamp(self) -> None:
        self._beat = time.perf_counter()

    def _watch(self) -> None:
        while not self._stop.wait(0.005):
            late = time.perf_counter() - self._beat
            if late > self.threshold_s:
                if self._in_stall is None:
                    frames = sys._current_frames()
                    frame = frames.get(self._gui_thread)
                    # The GUI thread's innermost frames say what blocked it; keep them whole.
                    stack = "".join(traceback.format_stack(frame)[-25:]) if frame is not None else "?"
                    # What the other threads were doing: a worker holding the GIL shows up here.
                    others = [f"--- thread {tid}:\n" + "".join(traceback.format_stack(f)[-3:])
                              for tid, f in frames.items() if tid not in (self._gui_thread, threading.get_ident())]
                    stack += "\n" + "".join(others)
                    self._in_stall = Stall(late * 1000.0, stack)
                    self._stall_start = self._beat
                else:
                    self._in_stall.duration_ms = late * 1000.0
            elif self._in_stall is not None:
                self.report.stalls.append(self._in_stall)
                if self._log:
                    log.warning("GUI thread stalled %.0f ms in:\n%s", self._in_stall.duration_ms,
                                self._in_stall.stack[:6000])
                self._in_stall = None
