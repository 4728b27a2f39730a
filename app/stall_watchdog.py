"""Detects GUI-thread stalls: a Qt timer stamps a heartbeat every 10 ms; a daemon thread checks
the stamp and, when the GUI thread has not come back for longer than the threshold, records the
GUI thread's Python stack. It also samples where the GUI thread is every 5 ms into a short ring,
so a stall comes with a small sampling profile from its first milliseconds on (one snapshot at
detection, 50 ms in, can miss where the time went).
Used by the latency benchmarks and, with TRADECOACH_STALL_WATCHDOG=1, in the app (stalls go to
the log).

A GUI stack that ends in the Qt event loop (`exec`/`run`) means the thread was in C++ (layout,
paint) or waiting for the GIL to run a Python slot: the other threads' stacks, kept too, say who
held it."""

from __future__ import annotations

import logging
import sys
import threading
import time
import traceback
from collections import Counter, deque
from dataclasses import dataclass, field
from types import FrameType

from PySide6.QtCore import QObject, QTimer

log = logging.getLogger(__name__)
POLL_S = 0.005


@dataclass
class Stall:
    duration_ms: float
    stack: str                      # the GUI thread's stack at detection, then the other threads'
    gui_stack: str = ""             # the GUI thread's stack alone
    samples: Counter[str] = field(default_factory=Counter)  # innermost GUI frames → polls seen there
    others: Counter[str] = field(default_factory=Counter)   # other threads' busy frames → polls seen there

    def profile(self, n: int = 4) -> str:
        """The most-sampled GUI-thread locations of this stall, one per line."""
        total = sum(self.samples.values()) or 1
        return "\n".join(f"{100 * k / total:3.0f}%  {where}" for where, k in self.samples.most_common(n))

    def busy_others(self, n: int = 4) -> str:
        """The other threads' most-sampled places during the stall, idle waits left out: with the
        GUI thread in the Qt event loop, these held the GIL."""
        total = sum(self.samples.values()) or 1
        return "\n".join(f"{100 * k / total:3.0f}%  {where}" for where, k in self.others.most_common(n))

    def describe(self, n: int = 4) -> str:
        """The stall for a report: its length, where the GUI thread was sampled, and which other
        threads were busy meanwhile."""
        lines = [f"{self.duration_ms:6.0f} ms, sampled every {POLL_S * 1000:.0f} ms at:",
                 *(f"    {line}" for line in self.profile(n).splitlines())]
        if self.others:
            lines += ["  other threads busy meanwhile (they hold the GIL while the GUI thread waits):",
                      *(f"    {line}" for line in self.busy_others(n - 1).splitlines())]
        return "\n".join(lines)


@dataclass
class StallReport:
    stalls: list[Stall] = field(default_factory=list)

    def worst(self, n: int = 5) -> list[Stall]:
        return sorted(self.stalls, key=lambda s: -s.duration_ms)[:n]


def _where(frame: FrameType | None, depth: int = 2) -> str:
    """The innermost `depth` frames, then the innermost frame of our own code when it is deeper
    (what called into Qt or a library), as `file:line func` joined by ' < '."""
    parts: list[str] = []
    ours = ""
    while frame is not None:
        code = frame.f_code
        name = code.co_filename.rsplit("/", 2)
        here = f"{'/'.join(name[-2:])}:{frame.f_lineno} {code.co_name}"
        mine = "site-packages" not in code.co_filename and "/lib/python" not in code.co_filename
        if len(parts) < depth:
            parts.append(here)
            if mine:
                break
        elif mine:
            ours = here
            break
        frame = frame.f_back
    return " < ".join([*parts, *([f"… {ours}"] if ours else [])]) or "?"


IDLE = ("wait", "_wait_for_tstate_lock", "select", "poll", "_worker", "get", "accept", "recv", "_recv",
        "recv_bytes", "_recv_bytes", "read", "run_forever", "_run_once", "sleep", "result", "acquire")


def _idle(frame: FrameType) -> bool:
    """A thread blocked in a wait (lock, queue, select, sleep) holds no GIL."""
    return frame.f_code.co_name in IDLE


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
        self._ring: deque[tuple[float, str]] = deque(maxlen=200)  # (when, GUI-thread location)

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
        while not self._stop.wait(POLL_S):
            frames = sys._current_frames()
            frame = frames.get(self._gui_thread)
            now = time.perf_counter()
            self._ring.append((now, _where(frame)))
            late = now - self._beat
            if late > self.threshold_s:
                if self._in_stall is None:
                    # The GUI thread's innermost frames say what blocked it; keep them whole.
                    gui = "".join(traceback.format_stack(frame)[-25:]) if frame is not None else "?"
                    # What the other threads were doing: a worker holding the GIL shows up here.
                    others = [f"--- thread {tid}:\n" + "".join(traceback.format_stack(f)[-3:])
                              for tid, f in frames.items() if tid not in (self._gui_thread, threading.get_ident())]
                    self._in_stall = Stall(late * 1000.0, gui + "\n" + "".join(others), gui_stack=gui)
                    self._stall_start = self._beat
                    # The samples taken since the last beat: the stall's first milliseconds.
                    self._in_stall.samples.update(w for t, w in list(self._ring)[:-1] if t > self._stall_start)
                else:
                    self._in_stall.duration_ms = late * 1000.0
                self._in_stall.samples[self._ring[-1][1]] += 1
                me = threading.get_ident()
                for tid, f in frames.items():
                    if tid not in (self._gui_thread, me) and not _idle(f):
                        self._in_stall.others[_where(f)] += 1
            elif self._in_stall is not None:
                self.report.stalls.append(self._in_stall)
                if self._log:
                    log.warning("GUI thread stalled %.0f ms; sampled at:\n%s\nstack at detection:\n%s",
                                self._in_stall.duration_ms, self._in_stall.profile(),
                                self._in_stall.stack[:6000])
                self._in_stall = None


class GcPauses:
    """Times the garbage collector's passes (gc.callbacks): a full collection walks every live
    container object and holds the GIL meanwhile — with a big heap, a stall of every thread."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []   # (generation, ms)
        self._t0 = 0.0

    def _hook(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._t0 = time.perf_counter()
        else:
            self.pauses.append((info["generation"], (time.perf_counter() - self._t0) * 1000.0))

    def start(self) -> None:
        import gc

        gc.callbacks.append(self._hook)

    def stop(self) -> None:
        import gc

        if self._hook in gc.callbacks:
            gc.callbacks.remove(self._hook)

    def summary(self) -> str:
        parts = []
        for gen in (0, 1, 2):
            ms = [d for g, d in self.pauses if g == gen]
            if ms:
                parts.append(f"gen{gen} {len(ms)}× max {max(ms):.1f} ms")
        return " · ".join(parts) or "none"
