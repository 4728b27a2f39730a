"""Builds every panel (widget + dock + controller) inside the main window and wires them to each
other and to the Qt bridge. The window keeps the chart, toolbar and menus; this keeps the panels."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QFrame, QScrollArea, QWidget

from app.panels.context import ContextController
from app.panels.contracts import ContractsController
from app.panels.events import DesktopNotifier, EventLogController
from app.panels.gpt import GptController
from app.panels.host import NY
from app.panels.jobs import JobsController
from app.panels.notes import NotesController
from app.panels.plan import PlanController
from app.panels.scanner import ScannerController
from app.panels.watchlist import WatchlistController
from core.events import FeedStatus
from core.market.calendar import calendar_for
from core.market.sessions import phase_at
from core.scanner.plan import Plan
from core.scanner.setups import Candidate, ScanReport, SetupState
from core.workstation import Workstation
from widgets.panels.event_log import EventLogPanel
from widgets.panels.gpt import GptPanel
from widgets.panels.jobs import JobsPanel
from widgets.panels.notes import NotesPanel
from widgets.panels.plan import PlanPanel
from widgets.panels.scanner import ScannerPanel
from widgets.panels.text_panel import MarkdownPanel
from widgets.panels.watchlist import WatchlistPanel
from widgets.theme import THEMES

if TYPE_CHECKING:
    from app.main_window import MainWindow

log = logging.getLogger(__name__)
STATE_RANK = {SetupState.TRIGGERED: 0, SetupState.ARMED: 1, SetupState.FORMING: 2}


def scrolled(widget: QWidget) -> QScrollArea:
    """A tall form in a scroll area, so it never raises the window's minimum height."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(widget)
    return area


def exchange_clock(k: Workstation, symbol: str) -> str:
    """The kernel clock in exchange time with the session phase of `symbol` (kernel thread)."""
    ts = k.clock.now_ns()
    when = datetime.fromtimestamp(ts / 1e9, UTC).astimezone(NY)
    phase = phase_at(ts, calendar_for(symbol)).name.lower()
    return f"{when:%a %Y-%m-%d %H:%M:%S} ET · {phase}"


class Panels:
    def __init__(self, w: MainWindow) -> None:
        self._w = w
        theme = THEMES[w.kernel.settings.theme]
        self.docks: dict[str, QDockWidget] = {}
        self.watchlist = WatchlistPanel(theme)
        self.scanner = ScannerPanel(theme)
        self.plan = PlanPanel()
        self.contracts = MarkdownPanel("Contracts · pick a plan")
        self.context = MarkdownPanel("Context")
        self.notes = NotesPanel()
        self.event_log = EventLogPanel()
        self.jobs = JobsPanel()
        self.gpt = GptPanel()
        self._layout()
        self.notifier = DesktopNotifier()
        self.notes_ctl = NotesController(w, self.notes, lambda: w.controller.symbol, open_plan=self.open_plan)
        self.watchlist_ctl = WatchlistController(w, self.watchlist, self._watch, w.show_symbol)
        self.scanner_ctl = ScannerController(w, self.scanner)
        self.plan_ctl = PlanController(w, self.plan, self.notes_ctl.new_from_plan)
        self.contracts_ctl = ContractsController(w, self.contracts)
        self.context_ctl = ContextController(w, self.context)
        self.events_ctl = EventLogController(self.event_log, self.notifier)
        self.jobs_ctl = JobsController(w, self.jobs)
        self.gpt_ctl = GptController(w, self.gpt, bind=w.settings_ctl.api_bind)
        self.notes.export_requested.connect(w.export_notes)
        self._wire()

    # -- docks ---------------------------------------------------------------------------------------
    def _dock(self, key: str, title: str, widget: QWidget, scroll: bool = False) -> QDockWidget:
        dock = QDockWidget(title, self._w)
        dock.setObjectName(f"{key}_dock")
        dock.setWidget(scrolled(widget) if scroll else widget)
        self.docks[key] = dock
        return dock

    def _layout(self) -> None:
        w = self._w
        left = self._dock("watchlist", "Watchlist", self.watchlist)
        # A full-height watchlist column on the left; chart and the plan tabs to its right.
        w.setCorner(Qt.Corner.TopLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        w.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        w.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, left)
        right = [self._dock(k, t, p) for k, t, p in (("plan", "Plan", self.plan),
                                                     ("contracts", "Contracts", self.contracts),
                                                     ("context", "Context", self.context))]
        for d in right:
            w.tabifyDockWidget(w.predictor_dock, d)
        bottom = [
            self._dock("scanner", "Scanner", self.scanner), self._dock("notes", "Notes", self.notes),
            self._dock("event_log", "Event log", self.event_log), self._dock("jobs", "Jobs", self.jobs),
            self._dock("gpt", "Connect your GPT", self.gpt, scroll=True)]
        w.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, bottom[0])
        for d in bottom[1:]:
            w.tabifyDockWidget(bottom[0], d)
        right[0].raise_()
        bottom[0].raise_()
        w.resizeDocks([left], [260], Qt.Orientation.Horizontal)
        w.resizeDocks([bottom[0]], [230], Qt.Orientation.Vertical)

    # -- wiring ------------------------------------------------------------------------------------
    def _wire(self) -> None:
        b = self._w.bridge
        b.setup_changed.connect(self.scanner_ctl.on_setup_changed)
        b.bar_closed.connect(self.scanner_ctl.on_bar_closed)
        b.plan_issued.connect(self.plan_ctl.on_plan_issued)
        b.follower_event.connect(self.plan_ctl.on_follower_event)
        b.job_progress.connect(self.jobs_ctl.on_job_progress)
        b.note_changed.connect(self.notes_ctl.on_note_changed)
        for sig in (b.setup_changed, b.plan_issued, b.follower_event, b.job_progress, b.feed_health,
                    b.note_changed):
            sig.connect(self.events_ctl.on_event)
        self.scanner_ctl.report_updated.connect(self._on_report)
        self.scanner_ctl.candidate_selected.connect(self.plan_ctl.show_candidate)
        self.scanner_ctl.candidate_opened.connect(self.open_candidate)
        self.plan_ctl.plan_shown.connect(self._on_plan_shown)

    def _watch(self, symbols: list[str]) -> None:
        self._w._spawn(self.scanner_ctl.watch(symbols), "scanner")

    def _on_report(self, report: ScanReport) -> None:
        self.watchlist_ctl.on_report(report)
        if self.plan_ctl.plan is None and report.candidates:
            # First run: put the best setup in play in front of the trader right away.
            chart = self._w.controller.symbol
            best = min(report.candidates, key=lambda c: (c.symbol != chart, STATE_RANK.get(c.state, 9), c.rank))
            self.plan_ctl.show_candidate(best)

    def open_candidate(self, c: Candidate) -> None:
        """Double-click in the scanner: show the plan and open its symbol and interval on the chart."""
        self.plan_ctl.show_candidate(c)
        interval = c.plan.interval if c.plan is not None else self.scanner_ctl.interval
        self._w.show_symbol(c.symbol, interval)

    async def open_plan(self, plan_id: str, version: int | None = None) -> None:
        """A note's plan link: the stored plan (that version) in the plan panel, its symbol and
        interval on the chart, where the plan is drawn once the bars show (as a scanner double-click)."""
        await self.plan_ctl.show_stored(plan_id, version)
        plan = self.plan_ctl.plan
        self.docks["plan"].raise_()
        if plan is not None:
            self._w.show_symbol(plan.symbol, plan.interval)

    def _on_plan_shown(self, plan: Plan) -> None:
        self.contracts_ctl.show_plan(plan)
        self._w.draw_plan(plan)

    async def open(self, remembered_list: str | None) -> None:
        """Fill every panel once the chart shows (the scanner then runs on live rescans)."""
        w = self._w
        await self.watchlist_ctl.load(remembered_list)
        await self.notes_ctl.refresh()
        await self.jobs_ctl.refresh()
        await self.gpt_ctl.refresh_tokens()
        if w.controller.symbol:
            self.context_ctl.show(w.controller.symbol)

    def counts(self) -> dict[str, int]:
        """Rows/items per panel (the smoke report)."""
        return {"watchlist": self.watchlist.table.rowCount(), "scanner": self.scanner.table.rowCount(),
                "plan": self.plan.events.count(), "contracts": int(self.contracts_ctl.idea is not None),
                "context": self.context_ctl.loaded, "notes": self.notes.list.count(),
                "event_log": self.event_log.list.count(), "jobs": self.jobs.table.rowCount(),
                "gpt": self.gpt.tokens.count()}

    def feed_text(self, health: dict[str, FeedStatus]) -> str:
        return " · ".join(f"{cap}: {st.state.value}" + (f" ({st.detail})" if st.state.value in ("degraded", "error")
                                                       else "") for cap, st in sorted(health.items()))

    def close(self) -> None:
        self.notes.flush()
        self.notifier.close()
