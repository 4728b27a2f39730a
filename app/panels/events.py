"""Event log and desktop notifications: setup changes, plans, follower steps, job ends, feed health
and note changes become one line each in the Event log; trigger, entry, TP, stop and invalidation
also raise a desktop notification (QSystemTrayIcon)."""

from __future__ import annotations

import logging

from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QSystemTrayIcon

from app.panels.host import et_time
from app.panels.plan import follower_line
from core.events import Event, FeedHealthChanged, FeedState, JobProgress
from core.scanner.events import FollowerEvent, PlanIssued, SetupChanged
from core.services.notes import NoteChanged
from widgets.panels.event_log import EventLogPanel

log = logging.getLogger(__name__)

NOTIFY_FOLLOWER = {"entered": "Entry", "tp_hit": "Target hit", "stop": "Stopped out", "invalidated": "Invalidated",
                   "triggered": "Armed setup triggered", "disarmed": "Armed setup disarmed"}


class DesktopNotifier:
    """Raises desktop notifications through the system tray; every one is also kept in `sent`
    (what was raised, for the trader's log and for tests where no tray exists)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        pix = QPixmap(16, 16)
        pix.fill()
        self.tray = QSystemTrayIcon(QIcon(pix))
        self.tray.setToolTip("Trading Coach Workstation")
        self.available = QSystemTrayIcon.isSystemTrayAvailable()
        if self.available:
            self.tray.show()

    def notify(self, title: str, text: str) -> None:
        self.sent.append((title, text))
        self.deliver(title, text)

    def deliver(self, title: str, text: str) -> None:
        if self.available:
            self.tray.showMessage(title, text, QSystemTrayIcon.MessageIcon.Information, 8000)
        else:
            log.info("notification (no system tray): %s — %s", title, text)

    def close(self) -> None:
        self.tray.hide()


def describe(event: Event, stamp: str) -> tuple[str, tuple[str, str] | None]:
    """(log line, notification or None) for one bus event."""
    if isinstance(event, SetupChanged):
        ch = event.change
        line = f"{stamp}  {ch.symbol} {ch.playbook} {event.interval}: {ch.before.value} → {ch.kind}"
        note = (f"{ch.symbol} triggered", f"{ch.playbook} ({event.interval})") if ch.kind == "triggered" else None
        if ch.kind == "invalidated":
            note = (f"{ch.symbol} setup invalidated", f"{ch.playbook} ({event.interval})")
        return line, note
    if isinstance(event, PlanIssued):
        p = event.plan
        return (f"{stamp}  plan {p.symbol} {p.playbook} {p.direction} v{p.version} ({event.reason}): entry "
                f"{p.entry:,.2f} stop {p.stop:,.2f}"), None
    if isinstance(event, FollowerEvent):
        title = NOTIFY_FOLLOWER.get(event.kind)
        line = f"plan {event.plan_id[:8]}  " + follower_line(event)
        return line, (f"{title} · plan {event.plan_id[:8]}", f"{event.kind} @ {event.price:,.2f}") if title else None
    if isinstance(event, JobProgress):
        return f"{stamp}  job {event.job_id} {event.kind}: {event.status}" + (
            f" — {event.error[-200:]}" if event.error else ""), None
    if isinstance(event, FeedHealthChanged):
        st = event.status
        return f"{stamp}  feed {event.capability}: {st.state.value} ({st.source}) {st.detail}", None
    if isinstance(event, NoteChanged):
        return f"{stamp}  note {event.note_id} {event.action}", None
    return f"{stamp}  {type(event).__name__}", None


class EventLogController:
    def __init__(self, panel: EventLogPanel, notifier: DesktopNotifier) -> None:
        self._panel, self.notifier = panel, notifier
        self._feed_state: dict[str, FeedState] = {}

    def on_event(self, event: Event) -> None:
        if isinstance(event, JobProgress) and event.status not in ("succeeded", "failed", "cancelled"):
            return  # progress ticks belong in the Jobs panel
        if isinstance(event, FeedHealthChanged):
            if self._feed_state.get(event.capability) == event.status.state:
                return
            self._feed_state[event.capability] = event.status.state
        stamp = et_time(getattr(event, "ts", None) or None) if isinstance(event, FollowerEvent) else ""
        line, note = describe(event, stamp or _now())
        self._panel.append(line)
        if note is not None:
            self.notifier.notify(*note)


def _now() -> str:
    from datetime import datetime

    from app.panels.host import NY

    return datetime.now(NY).strftime("%H:%M:%S")
